import { describe, expect, it } from 'vitest';
import { FAST_RECORD } from '../../../src/kafka/index.js';
import { changelogMessage, readChangelogRecord } from '../../../src/processors/changelog.js';

describe('changelog records', () => {
  it('are marked for the one-pass record batch encoder, go to the partition of their input partition, and read back as written', () => {
    const put = changelogMessage({ store: 'counts', key: 'node-1', entry: { v: { n: 3 }, t: 1_700_000_000_000 } }, 2);
    const tombstone = changelogMessage({ store: 'counts', key: 'node-2', entry: undefined }, 2);
    for (const m of [put, tombstone]) {
      expect(m[FAST_RECORD]).toBe(true);
      expect(m.partition).toBe(2);
    }
    expect(tombstone.value).toBeNull();
    const buf = (x: unknown) => (x === null ? null : Buffer.from(String(x)));
    expect(readChangelogRecord(buf(put.key), buf(put.value))).toEqual({ store: 'counts', key: 'node-1', entry: { v: { n: 3 }, t: 1_700_000_000_000 } });
    expect(readChangelogRecord(buf(tombstone.key), null)).toEqual({ store: 'counts', key: 'node-2', entry: undefined });
  });
});
