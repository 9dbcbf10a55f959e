import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueTopic } from '../../support/kafka.js';
import { avroRecord, http, startKafkaRegistry, type LiveRegistry } from './helpers.js';

// POST /compatibility/subjects/{s}/versions/{v} against a real server on the shared broker, as a client over HTTP
// sends it: a named version (latest too) is the one schema compared, whatever the subject's level; only registration
// and the request without a version look at every earlier version under a transitive level.

const v1 = avroRecord('Reading', [{ name: 'a', type: 'int' }]);
const v2 = avroRecord('Reading', [
  { name: 'a', type: 'int' },
  { name: 'b', type: 'int', default: 0 },
]);
// Readers of v3 read v2 data (b is there) but not v1 data (b is missing and has no default).
const v3 = JSON.stringify(avroRecord('Reading', [{ name: 'b', type: 'int' }]));

let live: LiveRegistry;
beforeAll(async () => {
  live = await startKafkaRegistry(uniqueTopic('registry-compat'));
  for (const level of ['BACKWARD_TRANSITIVE', 'FULL_TRANSITIVE']) {
    const subject = `readings-${level.toLowerCase()}`;
    expect((await http(live.url, 'PUT', `/config/${subject}`, { compatibility: level })).status).toBe(200);
    expect((await http(live.url, 'POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(v1) })).body).toEqual({ id: 1 });
    expect((await http(live.url, 'POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(v2) })).body).toEqual({ id: 2 });
  }
});
afterAll(async () => {
  await live?.close();
});

describe('compatibility against one version', () => {
  it('under BACKWARD_TRANSITIVE compares a named version only, and every version without one', async () => {
    const s = 'readings-backward_transitive';
    for (const version of ['2', 'latest', '-1']) {
      const one = await http(live.url, 'POST', `/compatibility/subjects/${s}/versions/${version}`, { schema: v3 });
      expect(one.status).toBe(200);
      expect(one.body).toEqual({ is_compatible: true });
    }
    const first = await http(live.url, 'POST', `/compatibility/subjects/${s}/versions/1?verbose=true`, { schema: v3 });
    expect(first.body.is_compatible).toBe(false);
    expect(first.body.messages).toContain('{oldSchemaVersion: 1}');
    const all = await http(live.url, 'POST', `/compatibility/subjects/${s}/versions?verbose=true`, { schema: v3 });
    expect(all.body.is_compatible).toBe(false);
    expect(all.body.messages).toContain('{oldSchemaVersion: 1}');
    const registered = await http(live.url, 'POST', `/subjects/${s}/versions`, { schema: v3 });
    expect(registered.status).toBe(409);
  });

  it('under FULL_TRANSITIVE checks both directions against the named version only', async () => {
    const s = 'readings-full_transitive';
    // FULL: v3 reads v2 data, but v2 cannot read v3 data (a is missing and has no default).
    const both = await http(live.url, 'POST', `/compatibility/subjects/${s}/versions/latest?verbose=true`, { schema: v3 });
    expect(both.body.is_compatible).toBe(false);
    expect(both.body.messages).toContain("{compatibility: 'FULL_TRANSITIVE'}");
    expect(both.body.messages).toContain('{oldSchemaVersion: 2}');
    // v2 plus an optional field is FULL compatible with v2, and with v1 too, named or not.
    const v4 = JSON.stringify(
      avroRecord('Reading', [
        { name: 'a', type: 'int' },
        { name: 'b', type: 'int', default: 0 },
        { name: 'c', type: 'string', default: '' },
      ]),
    );
    for (const path of ['versions/1', 'versions/2', 'versions/latest', 'versions']) {
      expect((await http(live.url, 'POST', `/compatibility/subjects/${s}/${path}`, { schema: v4 })).body).toEqual({ is_compatible: true });
    }
  });

  it('answers 40402 for a version the subject does not have and 42202 for one that is not a version', async () => {
    const s = 'readings-backward_transitive';
    expect((await http(live.url, 'POST', `/compatibility/subjects/${s}/versions/9`, { schema: v3 })).body.error_code).toBe(40402);
    expect((await http(live.url, 'POST', `/compatibility/subjects/${s}/versions/zero`, { schema: v3 })).body.error_code).toBe(42202);
  });
});
