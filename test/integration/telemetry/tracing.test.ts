import { randomUUID } from 'node:crypto';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan, type Sampler } from '@opentelemetry/sdk-trace-node';
import { InMemoryProvider } from '@openfeature/server-sdk';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { onexError, type AnyOnexEvent } from '../../../src/event/index.js';
import { flags } from '../../../src/flags/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { runReplay } from '../../../src/replay/index.js';
import { createWorker, type Worker } from '../../../src/worker/index.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, eventOf, produce, readTopic, startPipeline, waitFor, type Pipeline } from '../worker/pipeline.js';

/**
 * Spans of the producer and the worker with the SDK's in-memory exporter, across the run's real broker: names,
 * kinds, parentage (application span -> send -> process -> the handler's own send), attributes, the event's trace
 * fields, the fallback to those fields when headers are lost, and a dead-lettered record's status.
 */

const exporter = new InMemorySpanExporter();
/** Records everything, or (dropAll) nothing: one provider for the file, its sampler switched per test. */
const switchable: { dropAll: boolean; on: Sampler; off: Sampler } = { dropAll: false, on: new AlwaysOnSampler(), off: new AlwaysOffSampler() };
const sampler: Sampler = {
  shouldSample: (ctx, traceId, name, kind, attributes, links) => (switchable.dropAll ? switchable.off : switchable.on).shouldSample(ctx, traceId, name, kind, attributes, links),
  toString: () => `switchable(${switchable.dropAll ? 'off' : 'on'})`,
};
const provider = new NodeTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
let p: Pipeline;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  provider.register();
  p = await startPipeline();
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await p?.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
beforeEach(() => exporter.reset());

function producer(topic: string, schemaVersion: '1.3.0' | '2.0.0' = '2.0.0'): OnexProducer {
  const pr = new OnexProducer({ kafka: p.kafka, topic, codec: p.codec, schemaVersion, metricsRegistry: new Registry(), sampling: { enabled: false }, batch: { lingerMs: 1 } });
  closers.push(() => pr.close());
  return pr;
}

function worker(topic: string, handlers: Parameters<typeof createWorker>[0]['handlers']): Worker {
  const w = createWorker({
    kafka: p.kafka,
    decoder: p.codec,
    groupId: `g-${topic}`,
    topics: topic,
    fromBeginning: true,
    targetVersion: '2.0.0',
    metricsRegistry: new Registry(),
    retry: { maxAttempts: 1, initialBackoffMs: 20 },
    consumer: { maxWaitTimeMs: 100 },
    handlers,
  });
  closers.push(() => w.stop());
  return w;
}

/**
 * Two hops of one operation: `first` emits to `topic`, whose worker's NODE_START handler emits a NODE_SUCCESS to
 * `next` through `second` (the worker is made, not started).
 */
async function chain(name: string, partitions: number): Promise<{ topic: string; next: string; first: OnexProducer; w: Worker; seen: AnyOnexEvent[] }> {
  const topic = uniqueTopic(name);
  const next = `${topic}.next`;
  await createTopic(p, topic, partitions);
  await createTopic(p, next, 1);
  const first = producer(topic);
  const second = producer(next);
  await Promise.all([first.start(), second.start()]);
  const seen: AnyOnexEvent[] = [];
  const w = worker(topic, {
    NODE_START: async (event) => {
      seen.push(event);
      await second.emit(eventOf('2.0.0', { event_type: 'NODE_SUCCESS', correlation_id: event.correlation_id, metadata: { input_state: {}, output_state: { ok: true } } }));
    },
  });
  return { topic, next, first, w, seen };
}

const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

describe('OpenTelemetry spans of the producer and the worker', () => {
  it('one operation is one trace: application span -> send -> process -> the handler\'s own send', async () => {
    const { topic, next, first, w, seen } = await chain('otel-chain', 2);
    await w.start();

    const event = eventOf('2.0.0');
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('checkout', async (app) => {
      await first.emit(event);
      app.end();
    });
    await waitFor('the handler and its own emit', () => seen.length === 1 && spans(`send ${next}`).length === 1 && spans(`process ${topic}`).length === 1);

    const [app] = spans('checkout');
    const [send] = spans(`send ${topic}`);
    const [proc] = spans(`process ${topic}`);
    const [followUp] = spans(`send ${next}`);
    expect(send!.kind).toBe(SpanKind.PRODUCER);
    expect(proc!.kind).toBe(SpanKind.CONSUMER);
    const traceId = app!.spanContext().traceId;
    for (const s of [send!, proc!, followUp!]) expect(s.spanContext().traceId).toBe(traceId);
    expect(parentOf(send!)).toBe(app!.spanContext().spanId);
    expect(parentOf(proc!)).toBe(send!.spanContext().spanId);
    expect(parentOf(followUp!)).toBe(proc!.spanContext().spanId);

    expect(send!.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': topic,
      'messaging.kafka.message.key': event.correlation_id,
      'messaging.message.id': event.event_id,
      'onex.event_type': 'NODE_START',
      'onex.schema_version': '2.0.0',
      'onex.correlation_id': event.correlation_id,
    });
    expect(send!.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(proc!.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': topic,
      'messaging.consumer.group.name': `g-${topic}`,
      'messaging.kafka.message.key': event.correlation_id,
      'onex.event_type': 'NODE_START',
      'onex.schema_version': '2.0.0',
      'onex.schema_version.target': '2.0.0',
      'onex.correlation_id': event.correlation_id,
      'onex.outcome': 'handled',
    });
    expect(typeof proc!.attributes['messaging.kafka.offset']).toBe('number');
    expect(['0', '1']).toContain(proc!.attributes['messaging.destination.partition.id']);
    expect(proc!.events.map((e) => e.name)).toEqual(['validated', 'handler']);

    // The event's own trace record was filled from the send span, so it agrees with the headers.
    expect((seen[0] as { trace?: unknown }).trace).toEqual({ trace_id: traceId, span_id: send!.spanContext().spanId, trace_flags: 1 });
  });

  it('a 1.3.0 event gets trace_id; a record whose headers were dropped continues from the event\'s fields; upcast shows', async () => {
    const topic = uniqueTopic('otel-noheaders');
    await createTopic(p, topic, 1);
    const seen: AnyOnexEvent[] = [];
    const w = worker(topic, { '*': (e) => void seen.push(e) });
    await w.start();

    // Through the producer: 1.3.0 has a trace_id field and no span id, so the event id names the parent span.
    const pr = producer(topic, '1.3.0');
    const viaProducer = eventOf('1.3.0');
    await pr.emit(viaProducer);
    // Written by a tool that keeps the value and drops the headers: only the event's own trace record is left.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const bare = eventOf('2.0.0', { trace: { trace_id: traceId, span_id: '00f067aa0ba902b7', trace_flags: 1 } });
    await produce(p, topic, [{ key: null, value: p.codec.encode(bare, '2.0.0') }]);
    await waitFor('both events', () => seen.length === 2 && spans(`process ${topic}`).length === 2);

    const [send] = spans(`send ${topic}`);
    const procs = spans(`process ${topic}`);
    const fromProducer = procs.find((s) => s.attributes['messaging.message.id'] === viaProducer.event_id)!;
    const fromFields = procs.find((s) => s.attributes['messaging.message.id'] === bare.event_id)!;
    expect((seen.find((e) => e.event_id === viaProducer.event_id) as { trace?: { trace_id: string } }).trace?.trace_id).toBe(send!.spanContext().traceId);
    expect(fromProducer.spanContext().traceId).toBe(send!.spanContext().traceId);
    expect(parentOf(fromProducer)).toBe(send!.spanContext().spanId);
    expect(fromProducer.events.map((e) => e.name)).toContain('upcast');
    expect(fromProducer.events.find((e) => e.name === 'upcast')!.attributes).toEqual({ from: '1.3.0', to: '2.0.0' });
    expect(fromFields.spanContext().traceId).toBe(traceId);
    expect(parentOf(fromFields)).toBe('00f067aa0ba902b7');
  });

  it('a dead-lettered record\'s span is an error with the ONEX code, the handler\'s exception and a dead_letter event', async () => {
    const topic = uniqueTopic('otel-dlq');
    await createTopic(p, topic, 1);
    await createTopic(p, `${topic}.dlq`, 1);
    let calls = 0;
    const w = worker(topic, {
      '*': () => {
        calls++;
        throw onexError('ONEX_EVENT_603', 'this handler refuses every event');
      },
    });
    await w.start();
    const pr = producer(topic);
    await pr.emit(eventOf('2.0.0'));
    await waitFor('the dead letter', () => w.stats().deadLettered === 1 && spans(`process ${topic}`).length === 1);
    const [proc] = spans(`process ${topic}`);
    expect(calls).toBe(1);
    expect(proc!.status.code).toBe(SpanStatusCode.ERROR);
    expect(proc!.attributes['onex.error_code']).toBe('ONEX_EVENT_603');
    expect(proc!.attributes['onex.outcome']).toBe('dead_lettered');
    const names = proc!.events.map((e) => e.name);
    expect(names).toEqual(['validated', 'handler', 'exception', 'dead_letter']);
    expect(proc!.events.at(-1)!.attributes).toEqual({ 'onex.error_code': 'ONEX_EVENT_603', stage: 'handle' });
  });

  it('the onex.telemetry.tracing flag off: no spans of ours, while the caller\'s trace context still travels in the header', async () => {
    const tracingFlag = (on: boolean) =>
      flags.useProvider(new InMemoryProvider({ 'onex.telemetry.tracing': { variants: { on: true, off: false }, defaultVariant: on ? 'on' : 'off', disabled: false } }));
    const topic = uniqueTopic('otel-flag');
    await createTopic(p, topic, 1);
    const pr = producer(topic);
    await tracingFlag(false);
    try {
      let appSpan = '';
      await trace.getTracer('test').startActiveSpan('checkout', async (app) => {
        appSpan = app.spanContext().spanId;
        await pr.emit(eventOf('2.0.0'));
        app.end();
      });
      const [record] = await readTopic(p, topic, 1);
      expect(String(record!.headers.traceparent)).toContain(appSpan);
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['checkout']);
    } finally {
      await tracingFlag(true);
    }
    await pr.emit(eventOf('2.0.0'));
    expect(spans(`send ${topic}`)).toHaveLength(1);
  });

  it('a sampler that drops everything: no spans, and the unsampled context still travels (traceparent flags 00, event fields, the handler\'s emit)', async () => {
    const { topic, next, first, w, seen } = await chain('otel-dropall', 1);
    switchable.dropAll = true;
    try {
      await w.start();
      let traceId = '';
      await trace.getTracer('test').startActiveSpan('checkout', async (app) => {
        expect(app.isRecording()).toBe(false);
        traceId = app.spanContext().traceId;
        await first.emit(eventOf('2.0.0'));
        app.end();
      });
      const [record] = await readTopic(p, topic, 1);
      const [followUp] = await readTopic(p, next, 1);
      const header = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/;
      const sent = header.exec(String(record!.headers.traceparent));
      expect(sent?.[1]).toBe(traceId);
      // The handler ran inside the (non-recording) process span: its own emit continues the same unsampled trace.
      const continued = header.exec(String(followUp!.headers.traceparent));
      expect(continued?.[1]).toBe(traceId);
      expect((seen[0] as { trace?: unknown }).trace).toEqual({ trace_id: traceId, span_id: sent![2], trace_flags: 0 });
      expect(exporter.getFinishedSpans()).toHaveLength(0);
    } finally {
      switchable.dropAll = false;
    }
  });

  it('a replay is a trace of its own: a replay span, the copies\' sends its children, each linked to its original\'s span', async () => {
    const source = uniqueTopic('otel-replay-src');
    const target = uniqueTopic('otel-replay-to');
    await createTopic(p, source, 1);
    await createTopic(p, target, 1);
    const original = producer(source);
    await original.start();
    const correlation = randomUUID();
    await trace.getTracer('test').startActiveSpan('original operation', async (span) => {
      for (let i = 0; i < 2; i++) await original.emit(eventOf('2.0.0', { correlation_id: correlation }));
      span.end();
    });
    const originalSends = spans(`send ${source}`);
    expect(originalSends).toHaveLength(2);
    const originalTrace = originalSends[0]!.spanContext().traceId;

    const summary = await runReplay({ kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: target, selection: { correlationId: correlation }, speed: 'max', targetVersion: '2.0.0' });
    expect(summary.emitted).toBe(2);
    const session = spans(`replay ${source}`);
    expect(session).toHaveLength(1);
    const replayTrace = session[0]!.spanContext().traceId;
    expect(replayTrace).not.toBe(originalTrace);
    expect(session[0]!.attributes['onex.replay.emitted']).toBe(2);
    const copies = spans(`send ${target}`);
    expect(copies).toHaveLength(2);
    for (const c of copies) {
      expect(c.spanContext().traceId).toBe(replayTrace);
      expect(parentOf(c)).toBe(session[0]!.spanContext().spanId);
      expect(c.links).toHaveLength(1);
      expect(c.links[0]!.context.traceId).toBe(originalTrace);
      expect(originalSends.map((o) => o.spanContext().spanId)).toContain(c.links[0]!.context.spanId);
      expect(c.links[0]!.attributes?.['onex.link.type']).toBe('replay_of');
    }
    // The copies keep the original trace fields (onex trace finds them with the flow); their headers carry the replay's.
    const records = await readTopic(p, target, 2);
    for (const r of records) {
      const e = (await p.codec.decode<{ trace: { trace_id: string } }>(r.value!, '2.0.0')).event;
      expect(e.trace.trace_id).toBe(originalTrace);
      expect(String(r.headers.traceparent)).toContain(`00-${replayTrace}-`);
    }
  });
});
