import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { onexError, type AnyOnexEvent } from '../../../src/event/index.js';
import { DLQ_HEADERS, headerText, type HandlerContext, type RecordStage } from '../../../src/worker/index.js';
import { startProfiler } from '../../../src/telemetry/profiler.js';
import { encodeFailure, encodeFake, eventV2, FakeControl, metricValue, record, rig, rigDefaults } from './fakes.js';

// Once with a decoder that only decodes asynchronously, once with one that also decodes synchronously (as
// OnexEventCodec does once it knows the writer schema): the processor's promise-free first attempt must behave alike.
describe.each([
  ['an asynchronous decoder', false],
  ['a decoder with decodeSync', true],
] as const)('RecordProcessor with %s: one record through decode, validate, route, handle', (_name, syncDecoder) => {
  beforeEach(() => {
    rigDefaults.syncDecoder = syncDecoder;
  });

  it('hands the decoded event of the target version to the handler of its type, with the record context', async () => {
    const seen: Array<[AnyOnexEvent, HandlerContext]> = [];
    const r = rig({ NODE_START: (e, ctx) => void seen.push([e, ctx]) });
    const ev = eventV2();
    const out = await r.processor.process(record(encodeFake(ev, '1.1.0'), '42'), new FakeControl());
    expect(out).toMatchObject({ status: 'handled', attempts: 1, eventType: 'NODE_START' });
    expect(seen).toHaveLength(1);
    const [event, ctx] = seen[0]!;
    expect(event.event_id).toBe(ev.event_id);
    expect(ctx).toMatchObject({ offset: '42', partition: 0, eventId: ev.event_id, writerVersion: '1.1.0', targetVersion: '2.0.0', schemaId: 7, attempt: 1 });
    expect(ctx.key?.toString()).toBe('k');
    expect(await metricValue(r.registry, 'onex_worker_schema_version_total', { version: '1.1.0' })).toBe(1);
    expect(await metricValue(r.registry, 'onex_worker_events_processed_total', { event_type: 'NODE_START', status: 'handled' })).toBe(1);
  });

  it('an asynchronous handler that rejects twice is retried and handled on its third attempt, decoded once', async () => {
    let calls = 0;
    const r = rig({ '*': async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (++calls < 3) throw new Error('database busy');
    } }, { retry: { maxAttempts: 3, initialBackoffMs: 10 } });
    const out = await r.processor.process(record(encodeFake(eventV2())), new FakeControl());
    expect(out).toMatchObject({ status: 'handled', attempts: 3 });
    expect(calls).toBe(3);
    expect(r.decoder.calls).toBe(1);
    expect(await metricValue(r.registry, 'onex_worker_errors_total', { stage: 'handle', code: 'ONEX_EVENT_610' })).toBe(2);
  });

  it(`finishes a record with a synchronous handler ${syncDecoder ? 'without' : 'through'} a promise`, () => {
    const r = rig({ '*': () => undefined });
    const out = r.processor.process(record(encodeFake(eventV2())), new FakeControl());
    expect(out instanceof Promise).toBe(!syncDecoder);
  });

  it('runs the named stages in order, leaving out verify without security and validate when it is off', () => {
    expect(rig({}).processor.stages.map((s) => s.name)).toEqual(['decode', 'validate', 'route', 'handle', 'commit']);
    expect(rig({}, { validation: 'off' }).processor.stages.map((s) => s.name)).toEqual(['decode', 'route', 'handle', 'commit']);
  });

  it('decodes a record that does not decode once: the failure is counted once and dead-lettered, not decoded again', async () => {
    const r = rig({ '*': () => undefined });
    const out = await r.processor.process(record(encodeFailure('ONEX_EVENT_603')), new FakeControl());
    expect(out).toMatchObject({ status: 'dead_lettered', attempts: 1, stage: 'decode' });
    expect(r.decoder.calls).toBe(1);
    expect(await metricValue(r.registry, 'onex_worker_errors_total', { stage: 'decode', code: 'ONEX_EVENT_603' })).toBe(1);
  });

  it('takes a stage of another module where it says, with the decoded event, its failures counted where it says', async () => {
    const order: string[] = [];
    const seen: string[] = [];
    let failures = 1;
    const stages: RecordStage[] = [];
    const r = rig({ '*': () => void order.push('handle') }, {
      retry: { maxAttempts: 3, initialBackoffMs: 1 },
      stages: (defaults) => {
        const at = defaults.findIndex((s) => s.name === 'route');
        const extra: RecordStage = {
          name: 'audit',
          failAs: 'verify',
          run: (inFlight) => {
            order.push('audit');
            seen.push(String((inFlight.decoded?.event as { event_id?: unknown }).event_id));
            if (failures-- > 0) throw onexError('ONEX_SYS_902', 'audit store busy');
          },
        };
        stages.push(...defaults.slice(0, at), extra, ...defaults.slice(at));
        return stages;
      },
    });
    const ev = eventV2();
    const out = await r.processor.process(record(encodeFake(ev)), new FakeControl());
    expect(r.processor.stages.map((s) => s.name)).toEqual(['decode', 'validate', 'audit', 'route', 'handle', 'commit']);
    expect(out).toMatchObject({ status: 'handled', attempts: 2 });
    // The retry resumed at the failed stage: decoded once, the audit twice, the handler once.
    expect(order).toEqual(['audit', 'audit', 'handle']);
    expect(seen).toEqual([ev.event_id, ev.event_id]);
    expect(r.decoder.calls).toBe(1);
    expect(await metricValue(r.registry, 'onex_worker_errors_total', { stage: 'verify', code: 'ONEX_SYS_902' })).toBe(1);
  });

  it('passes unknown event types to the catch-all and counts them, instead of failing', async () => {
    const caught: string[] = [];
    const r = rig({ NODE_START: () => undefined, '*': (e) => void caught.push(e.event_type) });
    const a = await r.processor.process(record(encodeFake(eventV2({ event_type: 'UNKNOWN', metadata: { untyped: {} } }))), new FakeControl());
    const b = await r.processor.process(record(encodeFake(eventV2({ event_type: 'NODE_REGISTER', metadata: { untyped: {} } }))), new FakeControl());
    expect(a.status).toBe('handled');
    expect(b.status).toBe('handled');
    expect(caught).toEqual(['UNKNOWN', 'NODE_REGISTER']);
    expect(await metricValue(r.registry, 'onex_worker_unknown_event_types_total')).toBe(1);
  });

  it('without a catch-all, an event with no handler is counted as unhandled and its record is done', async () => {
    const r = rig({ NODE_SUCCESS: () => undefined });
    const out = await r.processor.process(record(encodeFake(eventV2({ event_type: 'UNKNOWN', metadata: { untyped: {} } }))), new FakeControl());
    expect(out.status).toBe('unhandled');
    expect(r.sink.sent).toHaveLength(0);
    expect(await metricValue(r.registry, 'onex_worker_events_processed_total', { event_type: 'UNKNOWN', status: 'unhandled' })).toBe(1);
  });

  it('retries a throwing handler with growing backoff, and succeeds on the third attempt', async () => {
    let calls = 0;
    const attempts: number[] = [];
    const r = rig({ '*': (_e, ctx) => {
      attempts.push(ctx.attempt);
      if (++calls < 3) throw new Error('database busy');
    } }, { retry: { maxAttempts: 3, initialBackoffMs: 100, multiplier: 2 } });
    const control = new FakeControl();
    const out = await r.processor.process(record(encodeFake(eventV2())), control);
    expect(out).toMatchObject({ status: 'handled', attempts: 3 });
    expect(attempts).toEqual([1, 2, 3]);
    expect(control.waits).toEqual([100, 200]);
    expect(r.decoder.calls).toBe(1); // decoded once, not per attempt
    expect(await metricValue(r.registry, 'onex_worker_errors_total', { stage: 'handle', code: 'ONEX_EVENT_610' })).toBe(2);
    expect(r.sink.sent).toHaveLength(0);
  });

  it('dead-letters a handler that keeps failing, with the original bytes and headers and the failure headers', async () => {
    const r = rig({ '*': () => { throw new Error('always broken'); } }, { retry: { maxAttempts: 3 } });
    const value = encodeFake(eventV2());
    const out = await r.processor.process(record(value, '9'), new FakeControl());
    expect(out).toMatchObject({ status: 'dead_lettered', attempts: 3, stage: 'handle' });
    expect(r.sink.sent).toHaveLength(1);
    const { topic, message } = r.sink.sent[0]!;
    expect(topic).toBe('onex.events.dlq');
    expect(Buffer.compare(message.value as Buffer, value)).toBe(0);
    expect((message.key as Buffer).toString()).toBe('k');
    const h = message.headers!;
    expect(headerText(h, 'traceparent')).toBe('tp');
    expect(headerText(h, DLQ_HEADERS.errorCode)).toBe('ONEX_EVENT_610');
    expect(headerText(h, DLQ_HEADERS.reason)).toContain('always broken');
    expect(headerText(h, DLQ_HEADERS.sourceTopic)).toBe('onex.events');
    expect(headerText(h, DLQ_HEADERS.sourcePartition)).toBe('0');
    expect(headerText(h, DLQ_HEADERS.sourceOffset)).toBe('9');
    expect(headerText(h, DLQ_HEADERS.attempts)).toBe('3');
    expect(headerText(h, DLQ_HEADERS.group)).toBe('g1');
    expect(r.failures).toHaveLength(1);
    expect(await metricValue(r.registry, 'onex_worker_dead_letters_total', { code: 'ONEX_EVENT_610' })).toBe(1);
  });

  it.each([
    ['a wrong magic byte', Buffer.from([1, 2, 3, 4, 5, 6]), 'ONEX_EVENT_604'],
    ['an empty value', Buffer.alloc(0), 'ONEX_EVENT_604'],
    ['a tombstone', null, 'ONEX_EVENT_604'],
    ['an unknown schema id', encodeFailure('ONEX_EVENT_605'), 'ONEX_EVENT_605'],
    ['an unknown newer major', encodeFailure('ONEX_SCHEMA_701'), 'ONEX_SCHEMA_701'],
  ] as const)('dead-letters %s at once (not retriable), the handler never runs', async (_name, value, code) => {
    let ran = false;
    const r = rig({ '*': () => void (ran = true) });
    const control = new FakeControl();
    const out = await r.processor.process(record(value), control);
    expect(out).toMatchObject({ status: 'dead_lettered', attempts: 1, stage: 'decode' });
    expect(ran).toBe(false);
    expect(control.waits).toEqual([]);
    expect(headerText(r.sink.sent[0]!.message.headers, DLQ_HEADERS.errorCode)).toBe(code);
    expect(await metricValue(r.registry, 'onex_worker_errors_total', { stage: 'decode', code })).toBe(1);
  });

  it('retries a retriable decode failure (registry unreachable) and then handles the event', async () => {
    const handled: string[] = [];
    const r = rig({ '*': (e) => void handled.push(e.event_id) });
    const ev = eventV2();
    r.decoder.transient.set(ev.event_id as string, { code: 'ONEX_REG_206', times: 1 });
    const out = await r.processor.process(record(encodeFake(ev)), new FakeControl());
    expect(out).toMatchObject({ status: 'handled', attempts: 2 });
    expect(handled).toEqual([ev.event_id]);
  });

  it('waits out a registry outage longer than maxAttempts instead of dead-lettering the record', async () => {
    const handled: string[] = [];
    const r = rig({ '*': (e) => void handled.push(e.event_id) }, { retry: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 400 } });
    const ev = eventV2();
    r.decoder.transient.set(ev.event_id as string, { code: 'ONEX_REG_206', times: 6 });
    const control = new FakeControl();
    const out = await r.processor.process(record(encodeFake(ev)), control);
    expect(out).toMatchObject({ status: 'handled', attempts: 7 });
    expect(control.waits).toEqual([100, 200, 400, 400, 400, 400]);
    expect(r.sink.sent).toHaveLength(0);
    expect(handled).toEqual([ev.event_id]);
  });

  it('gives a record back uncommitted when the worker stops during an outage', async () => {
    const r = rig({ '*': () => undefined });
    const ev = eventV2();
    r.decoder.transient.set(ev.event_id as string, { code: 'ONEX_REG_206', times: 1_000 });
    const control = new FakeControl();
    control.stopAfterWaits = 5;
    expect(await r.processor.process(record(encodeFake(ev)), control)).toEqual({ status: 'interrupted', attempts: 5 });
    expect(r.sink.sent).toHaveLength(0);
  });

  it('strict validation: an invalid event is dead-lettered with its ONEX_VALID code, not retried', async () => {
    let ran = false;
    const r = rig({ '*': () => void (ran = true) });
    const out = await r.processor.process(record(encodeFake(eventV2({ node_id: '' }))), new FakeControl());
    expect(out).toMatchObject({ status: 'dead_lettered', attempts: 1, stage: 'validate' });
    expect(ran).toBe(false);
    expect(headerText(r.sink.sent[0]!.message.headers, DLQ_HEADERS.errorCode)).toBe('ONEX_VALID_105');
  });

  it('non-strict validation: an invalid event is counted and handled anyway', async () => {
    let ran = false;
    const r = rig({ '*': () => void (ran = true) }, { validation: 'non-strict' });
    const out = await r.processor.process(record(encodeFake(eventV2({ node_id: '' }))), new FakeControl());
    expect(out.status).toBe('handled');
    expect(ran).toBe(true);
    expect(await metricValue(r.registry, 'onex_worker_errors_total', { stage: 'validate', code: 'ONEX_VALID_105' })).toBe(1);
  });

  it('a handler that throws a non-retriable OnexError is dead-lettered after one attempt with that code', async () => {
    const r = rig({ '*': () => { throw onexError('ONEX_VALID_102', 'business rule broken'); } });
    const out = await r.processor.process(record(encodeFake(eventV2())), new FakeControl());
    expect(out).toMatchObject({ status: 'dead_lettered', attempts: 1 });
    expect(headerText(r.sink.sent[0]!.message.headers, DLQ_HEADERS.errorCode)).toBe('ONEX_VALID_102');
  });

  it('keeps trying the dead-letter write until the broker takes it (nothing accepted is lost)', async () => {
    const r = rig({ '*': () => { throw onexError('ONEX_VALID_102', 'bad'); } });
    r.sink.failuresLeft = 3;
    const control = new FakeControl();
    const out = await r.processor.process(record(encodeFake(eventV2())), control);
    expect(out.status).toBe('dead_lettered');
    expect(r.sink.sent).toHaveLength(1);
    expect(control.waits).toEqual([10, 20, 40]);
    expect(await metricValue(r.registry, 'onex_worker_errors_total', { stage: 'dead_letter', code: 'ONEX_EVENT_611' })).toBe(3);
  });

  it('gives a record back uncommitted (interrupted) when the worker stops while its dead letter cannot be written', async () => {
    const r = rig({ '*': () => { throw onexError('ONEX_VALID_102', 'bad'); } });
    r.sink.failuresLeft = 100;
    const control = new FakeControl();
    control.stopAfterWaits = 2;
    const out = await r.processor.process(record(encodeFake(eventV2())), control);
    expect(out.status).toBe('interrupted');
    expect(r.failures).toHaveLength(0);
  });

  it('gives a record back uncommitted when the worker stops during a retry backoff', async () => {
    const r = rig({ '*': () => { throw new Error('busy'); } });
    const control = new FakeControl();
    control.stopAfterWaits = 1;
    const out = await r.processor.process(record(encodeFake(eventV2())), control);
    expect(out).toEqual({ status: 'interrupted', attempts: 1 });
    expect(r.sink.sent).toHaveLength(0);
  });

  it('without a dead-letter topic, a failed record is reported and dropped', async () => {
    const r = rig({ '*': () => undefined }, { deadLetter: false });
    const out = await r.processor.process(record(Buffer.from('{"not":"avro"}')), new FakeControl());
    expect(out.status).toBe('dropped');
    expect(r.failures[0]).toMatchObject({ stage: 'decode', deadLetterTopic: undefined });
    expect(r.failures[0]!.error.code).toBe('ONEX_EVENT_604');
  });

  it('counts deprecated writer versions', async () => {
    const r = rig({ '*': () => undefined }, { deprecated: ['1.0.0'] });
    for (let i = 0; i < 3; i++) await r.processor.process(record(encodeFake(eventV2(), '1.0.0')), new FakeControl());
    await r.processor.process(record(encodeFake(eventV2(), '1.3.0')), new FakeControl());
    expect(await metricValue(r.registry, 'onex_worker_deprecated_version_total', { version: '1.0.0' })).toBe(3);
    expect(await metricValue(r.registry, 'onex_worker_deprecated_version_total', { version: '1.3.0' })).toBe(0);
    const latency = await r.registry.getSingleMetric('onex_worker_processing_seconds')!.get();
    const count = latency.values.find((v) => (v as { metricName?: string }).metricName === 'onex_worker_processing_seconds_count' && v.labels.version === '1.0.0');
    expect(count?.value).toBe(3);
  });

  it('warns once per deprecated writer version, however many of its events arrive', async () => {
    const lines: Array<{ msg: string; version?: string }> = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as { msg: string; version?: string }) });
    const r = rig({ '*': () => undefined }, { deprecated: ['1.0.0', '1.1.0'], log });
    for (const v of ['1.0.0', '1.0.0', '1.1.0', '1.0.0', '1.1.0', '1.2.0'] as const) await r.processor.process(record(encodeFake(eventV2(), v)), new FakeControl());
    const warnings = lines.filter((l) => l.msg.includes('deprecated'));
    expect(warnings.map((w) => w.version)).toEqual(['1.0.0', '1.1.0']);
  });

  it('a throwing onFailure callback does not make a dead-lettered record fail again', async () => {
    const r = rig({ '*': () => undefined }, { onFailure: () => { throw new Error('callback bug'); } });
    const out = await r.processor.process(record(Buffer.from('not the wire format')), new FakeControl());
    expect(out.status).toBe('dead_lettered');
    expect(r.sink.sent).toHaveLength(1);
  });
});

describe('RecordProcessor under the process profiler', () => {
  it('profiles a handler call as `handle <event_type>`, or as `<profileAs> <event_type>` for a processor, so the two are never one operation', async () => {
    const events: Array<{ metadata: { operation: string; sample_count: number } }> = [];
    const profiler = startProfiler({ emit: (e) => void events.push(e as never), windowMs: 60_000, nodeId: 'record_processor_test-1' });
    try {
      await rig({ '*': () => undefined }).processor.process(record(encodeFake(eventV2())), new FakeControl());
      const alerts = rig({ '*': () => undefined }, { profileAs: 'alerts' });
      for (let i = 0; i < 2; i++) await alerts.processor.process(record(encodeFake(eventV2()), String(i)), new FakeControl());
      await profiler.flush();
      expect(events.map((e) => [e.metadata.operation, e.metadata.sample_count]).sort()).toEqual([['alerts NODE_START', 2], ['handle NODE_START', 1]]);
    } finally {
      await profiler.close();
    }
  });
});
