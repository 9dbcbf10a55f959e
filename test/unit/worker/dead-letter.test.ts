import { describe, expect, it } from 'vitest';
import { onexError } from '../../../src/event/index.js';
import {
  buildDeadLetter,
  buildRedriveRecord,
  defaultDeadLetterTopic,
  DLQ_HEADERS,
  headerText,
  readDeadLetterHeaders,
} from '../../../src/worker/index.js';

const source = {
  topic: 'onex.events',
  partition: 3,
  offset: '1234',
  key: Buffer.from('corr-1'),
  value: Buffer.from([0, 0, 0, 0, 1, 2, 3]),
  headers: { traceparent: Buffer.from('00-abc-def-01'), 'onex.event_type': 'NODE_START' },
};

describe('dead-letter records', () => {
  it('keep the original key, value and headers and add what failed and where', () => {
    const at = new Date('2026-01-02T03:04:05.000Z');
    const m = buildDeadLetter(source, { error: onexError('ONEX_EVENT_605', 'schema id 99 is unknown'), attempts: 1, groupId: 'billing', failedAt: at });
    expect(m.key).toBe(source.key);
    expect(m.value).toBe(source.value);
    expect(headerText(m.headers, 'traceparent')).toBe('00-abc-def-01');
    expect(readDeadLetterHeaders(m.headers)).toEqual({
      errorCode: 'ONEX_EVENT_605',
      reason: 'schema id 99 is unknown',
      sourceTopic: 'onex.events',
      sourcePartition: 3,
      sourceOffset: '1234',
      attempts: 1,
      failedAt: '2026-01-02T03:04:05.000Z',
      group: 'billing',
      redrives: 0,
    });
  });

  it('cut a huge reason to a bounded size on a character boundary', () => {
    const m = buildDeadLetter(source, { error: onexError('ONEX_EVENT_610', 'é'.repeat(5_000)), attempts: 3, groupId: 'g' });
    const reason = headerText(m.headers, DLQ_HEADERS.reason)!;
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(1_000);
    expect(reason.endsWith('...')).toBe(true);
    expect(reason).not.toContain('\uFFFD');
  });

  it('a redriven record that fails again gets fresh failure headers and keeps its redrive count', () => {
    const first = buildDeadLetter(source, { error: onexError('ONEX_EVENT_605', 'unknown id'), attempts: 1, groupId: 'g' });
    const redriven = buildRedriveRecord({ key: first.key as Buffer, value: first.value as Buffer, headers: first.headers! });
    expect(Object.keys(redriven.headers!).filter((h) => h.startsWith('onex.dlq.'))).toEqual([DLQ_HEADERS.redrives]);
    expect(headerText(redriven.headers, DLQ_HEADERS.redrives)).toBe('1');
    expect(headerText(redriven.headers, 'traceparent')).toBe('00-abc-def-01');
    expect(redriven.value).toBe(source.value);
    const second = buildDeadLetter(
      { ...source, offset: '77', headers: redriven.headers! },
      { error: onexError('ONEX_EVENT_610', 'still broken'), attempts: 3, groupId: 'g' },
    );
    const info = readDeadLetterHeaders(second.headers);
    expect(info).toMatchObject({ errorCode: 'ONEX_EVENT_610', sourceOffset: '77', attempts: 3, redrives: 1 });
    const again = buildRedriveRecord({ key: null, value: null, headers: second.headers! });
    expect(headerText(again.headers, DLQ_HEADERS.redrives)).toBe('2');
  });

  it('default dead-letter topic is the source topic plus .dlq', () => {
    expect(defaultDeadLetterTopic('onex.events')).toBe('onex.events.dlq');
  });
});
