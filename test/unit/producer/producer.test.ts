import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { readWireFormat } from '../../../src/codec/index.js';
import { isOnexError, type OnexError } from '../../../src/errors/index.js';
import { OnexProducer, type OnexProducerOptions } from '../../../src/producer/index.js';
import { SyntheticEvents } from '../../../src/dev/index.js';
import { deferred, FakeKafka, JsonEncoder } from './fakes.js';

const { CompressionTypes } = kafkajs;
const open: OnexProducer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

function make(fake: FakeKafka, options: Partial<OnexProducerOptions> = {}) {
  const registry = new Registry();
  const p = new OnexProducer({ kafka: fake.kafka, codec: new JsonEncoder(), topic: 't', metricsRegistry: registry, batch: { lingerMs: 1 }, ...options });
  open.push(p);
  return { p, registry };
}

const start = (extra: Record<string, unknown> = {}) => ({
  node_id: 'stamper_node-001',
  event_type: 'NODE_START',
  correlation_id: '5b0e3c1e-1f2a-4c3b-9d4e-5f6a7b8c9d0e',
  metadata: { input_state: { path: 'a.py' } },
  ...extra,
});

async function metric(registry: Registry, name: string): Promise<Array<{ labels: Record<string, unknown>; value: number }>> {
  const m = registry.getSingleMetric(name);
  return m ? ((await m.get()).values as Array<{ labels: Record<string, unknown>; value: number }>) : [];
}

const decode = (value: Buffer) => JSON.parse(readWireFormat(value).body.toString()) as Record<string, unknown>;

describe('OnexProducer.emit', () => {
  it('fills event_id, timestamp and schema_version, keys by correlation id and sets the ONEX headers', async () => {
    const fake = new FakeKafka();
    const { p } = make(fake);
    const r = await p.emit(start({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', schema_version: '1.3.0' }));
    expect(r.status).toBe('sent');
    const [m] = fake.messages;
    const e = decode(m!.value);
    expect(e.event_id).toBe(r.eventId);
    expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(e.schema_version).toBe('1.3.0');
    expect(m!.key.toString()).toBe('5b0e3c1e-1f2a-4c3b-9d4e-5f6a7b8c9d0e');
    expect(m!.headers['onex-event-type']!.toString()).toBe('NODE_START');
    expect(m!.headers['onex-schema-version']!.toString()).toBe('1.3.0');
    expect(m!.headers.traceparent!.toString()).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${r.eventId.replace(/-/g, '').slice(0, 16)}-01`);
  });

  it('keys by event_id when there is no correlation id, and leaves traceparent out without a trace', async () => {
    const fake = new FakeKafka();
    const { p } = make(fake);
    const r = await p.emit(start({ correlation_id: undefined }));
    expect(fake.messages[0]!.key.toString()).toBe(r.eventId);
    expect(fake.messages[0]!.headers.traceparent).toBeUndefined();
  });

  it('does not change the caller\'s object', async () => {
    const fake = new FakeKafka();
    const { p } = make(fake);
    const event = start();
    await p.emit(event);
    expect(event).toEqual(start());
  });

  it('converts an event written against another schema version to the version it writes', async () => {
    const fake = new FakeKafka();
    const { p } = make(fake, { schemaVersion: '1.3.0' });
    await p.emit(start({ schema_version: '1.0.0' }));
    await p.emit(start({ schema_version: '2.0.0', trace: { trace_id: 'ab'.repeat(16) } }));
    const [older, newer] = fake.messages.map((m) => decode(m.value));
    expect(older).toMatchObject({ schema_version: '1.3.0', event_type: 'NODE_START', metadata: { input_state: { path: 'a.py' } } });
    expect(newer).toMatchObject({ schema_version: '1.3.0', trace_id: 'ab'.repeat(16) });
    expect(fake.messages.every((m) => m.headers['onex-schema-version']!.toString() === '1.3.0')).toBe(true);
  });

  it('strict: rejects an invalid event with its ONEX_VALID code and counts it as failed', async () => {
    const fake = new FakeKafka();
    const { p, registry } = make(fake);
    const err = (await p.emit(start({ metadata: {} })).catch((e: unknown) => e)) as OnexError;
    expect(err.code).toBe('ONEX_VALID_103');
    expect(err.message).toMatch(/input_state/);
    expect(fake.messages).toHaveLength(0);
    expect(await metric(registry, 'onex_events_failed_total')).toEqual([{ labels: { event_type: 'NODE_START', code: 'ONEX_VALID_103' }, value: 1 }]);
  });

  it('non-strict: counts the violation and sends the event', async () => {
    const fake = new FakeKafka();
    const { p, registry } = make(fake, { validation: 'non-strict' });
    await p.emit(start({ metadata: {} }));
    expect(fake.messages).toHaveLength(1);
    expect(await metric(registry, 'onex_event_validation_issues_total')).toEqual([{ labels: { event_type: 'NODE_START', code: 'ONEX_VALID_103' }, value: 1 }]);
  });

  it('rejects an event over the hard limit with ONEX_EVENT_602 naming its size and the limit', async () => {
    const fake = new FakeKafka();
    const { p } = make(fake, { maxEventBytes: 5_000 });
    const err = (await p.emit(start({ metadata: { input_state: { blob: 'x'.repeat(6_000) } } })).catch((e: unknown) => e)) as OnexError;
    expect(err.code).toBe('ONEX_EVENT_602');
    expect(err.message).toMatch(/is 6\.\d KB \(6\d{3} bytes\) encoded, over the 5 KB \(5000 bytes\) limit/);
    expect(err.details).toMatchObject({ limitBytes: 5_000 });
    expect(fake.messages).toHaveLength(0);
  });

  it('sends events over the compression threshold in LZ4 requests and smaller ones uncompressed', async () => {
    const fake = new FakeKafka();
    const { p } = make(fake, { compression: { thresholdBytes: 2_000 } });
    await Promise.all([
      p.emit(start({ correlation_id: 'a', metadata: { input_state: { blob: 'x'.repeat(3_000) } } })),
      p.emit(start({ correlation_id: 'b' })),
      p.emit(start({ correlation_id: 'c', metadata: { input_state: { blob: 'y'.repeat(3_000) } } })),
    ]);
    const byCompression = (c: number) => fake.sends.filter((s) => (s.compression ?? 0) === c).flatMap((s) => s.messages.map((m) => m.key.toString()));
    expect(byCompression(CompressionTypes.LZ4).sort()).toEqual(['a', 'c']);
    expect(byCompression(CompressionTypes.None)).toEqual(['b']);
  });

  it('writes the sampling rate into the event and reports sampled-out events', async () => {
    const fake = new FakeKafka();
    const { p, registry } = make(fake, { sampling: { defaultRate: 0.5 } });
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => p.emit(start({ correlation_id: `flow-${i}` }))));
    const sent = results.filter((r) => r.status === 'sent');
    expect(sent.length).toBeGreaterThan(140);
    expect(sent.length).toBeLessThan(260);
    for (const m of fake.messages) expect(decode(m.value).sample_rate).toBe(0.5);
    const out = await metric(registry, 'onex_events_sampled_out_total');
    expect(out).toEqual([{ labels: { event_type: 'NODE_START', schema_version: '1.3.0' }, value: 400 - sent.length }]);
    // A failure of a sampled type is kept whatever its flow's fate, at rate 1.
    const failures = await Promise.all(Array.from({ length: 50 }, (_, i) => p.emit({ node_id: 'n-1', event_type: 'NODE_FAILURE', correlation_id: `flow-${i}`, metadata: { input_state: {}, error: 'boom' } })));
    expect(failures.every((r) => r.status === 'sent' && r.sampleRate === 1)).toBe(true);
  });

  it('refuses sampling with a writer version that cannot record the rate', () => {
    expect(() => new OnexProducer({ kafka: new FakeKafka().kafka, codec: new JsonEncoder(), schemaVersion: '1.1.0', sampling: { defaultRate: 0.1 } })).toThrow(/ONEX|sample_rate/);
    try {
      new OnexProducer({ kafka: new FakeKafka().kafka, codec: new JsonEncoder(), batch: { maxEvents: 0 } });
    } catch (e) {
      expect(isOnexError(e, 'ONEX_RT_407')).toBe(true);
      expect((e as Error).message).toMatch(/batch\.maxEvents/);
    }
  });

  it('counts emitted events, sizes and batches in the registry it was given', async () => {
    const fake = new FakeKafka();
    const { p, registry } = make(fake);
    await Promise.all([p.emit(start()), p.emit(start()), p.emit(start({ event_type: 'STRUCTURED_LOG', metadata: { message: 'm' } }))]);
    const emitted = await metric(registry, 'onex_events_emitted_total');
    // Labelled by the schema version this producer writes (the default, 1.3.0), so dashboards can split by version.
    expect(emitted).toEqual([
      { labels: { event_type: 'NODE_START', schema_version: '1.3.0' }, value: 2 },
      { labels: { event_type: 'STRUCTURED_LOG', schema_version: '1.3.0' }, value: 1 },
    ]);
    const size = await metric(registry, 'onex_event_size_bytes');
    expect(size.find((v) => (v as { metricName?: string }).metricName === 'onex_event_size_bytes_count' && v.labels.compression === 'none')?.value).toBe(3);
    expect((await metric(registry, 'onex_producer_buffered_bytes'))[0]!.value).toBe(0);
  });

  it('labels emitted counts with the schema version the producer was built to write', async () => {
    const fake = new FakeKafka();
    const { p, registry } = make(fake, { schemaVersion: '1.2.0' });
    await p.emit(start());
    expect(await metric(registry, 'onex_events_emitted_total')).toEqual([{ labels: { event_type: 'NODE_START', schema_version: '1.2.0' }, value: 1 }]);
  });
});

describe('OnexProducer overflow, flush and close', () => {
  it('reject policy: fails at once with ONEX_EVENT_608 when the buffer is full, never dropping silently', async () => {
    const fake = new FakeKafka();
    const hold = deferred();
    fake.hold = hold.promise;
    const { p } = make(fake, { buffer: { maxBytes: 4_000, overflow: 'reject' }, maxEventBytes: 1_000 });
    const accepted = Array.from({ length: 10 }, () => p.emit(start()));
    const outcomes = Promise.allSettled(accepted);
    hold.resolve();
    const settled = await outcomes;
    const rejected = settled.filter((s) => s.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect((r as PromiseRejectedResult).reason.code).toBe('ONEX_EVENT_608');
    expect(fake.messages.length).toBe(settled.length - rejected.length);
  });

  it('block policy: waits for space while Kafka is slow, then delivers everything', async () => {
    const fake = new FakeKafka();
    const hold = deferred();
    fake.hold = hold.promise;
    const { p } = make(fake, { buffer: { maxBytes: 4_000, overflow: 'block', blockTimeoutMs: 5_000 }, maxEventBytes: 1_000 });
    const all = Array.from({ length: 30 }, (_, i) => p.emit(start({ correlation_id: `c${i}` })));
    await new Promise((r) => setTimeout(r, 30));
    expect(p.bufferedBytes).toBeLessThanOrEqual(4_000);
    hold.resolve();
    fake.hold = undefined;
    const results = await Promise.all(all);
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    expect(fake.messages.map((m) => m.key.toString())).toEqual(Array.from({ length: 30 }, (_, i) => `c${i}`));
  });

  it('block policy: gives up after the block timeout with ONEX_EVENT_608', async () => {
    const fake = new FakeKafka();
    const hold = deferred();
    fake.hold = hold.promise;
    const { p } = make(fake, { buffer: { maxBytes: 2_000, overflow: 'block', blockTimeoutMs: 50 }, maxEventBytes: 1_000 });
    const all = Array.from({ length: 10 }, () => p.emit(start()).then(() => 'ok', (e: OnexError) => e.code));
    await new Promise((r) => setTimeout(r, 120));
    hold.resolve();
    const outcomes = await Promise.all(all);
    expect(outcomes).toContain('ONEX_EVENT_608');
    expect(outcomes).toContain('ok');
  });

  it('emitAndForget reports every failure through onError and onFailure', async () => {
    const fake = new FakeKafka();
    const errors: string[] = [];
    const heard: string[] = [];
    const { p } = make(fake, { onError: (e) => errors.push(e.code), maxEventBytes: 2_000 });
    p.onFailure((e) => heard.push(e.code));
    await p.start();
    p.emitAndForget(start());
    p.emitAndForget(start({ event_type: 'NOT_A_TYPE' }));
    p.emitAndForget(start({ metadata: { input_state: { blob: 'x'.repeat(3_000) } } }));
    await p.flush();
    expect(errors).toEqual(['ONEX_VALID_106', 'ONEX_EVENT_602']);
    expect(heard).toEqual(errors);
    expect(fake.messages).toHaveLength(1);
  });

  it('flush() waits for everything accepted before it; close() delivers the rest and then refuses with ONEX_EVENT_609', async () => {
    const fake = new FakeKafka();
    const { p } = make(fake, { batch: { lingerMs: 60_000, maxEvents: 1000 } });
    await p.start();
    const pending = Array.from({ length: 25 }, () => p.emit(start()));
    p.emitAndForget(start());
    await p.flush();
    expect(fake.messages).toHaveLength(26);
    await Promise.all(pending);
    const more = Array.from({ length: 5 }, () => p.emit(start()));
    await p.close();
    expect(fake.messages).toHaveLength(31);
    await Promise.all(more);
    const err = (await p.emit(start()).catch((e: unknown) => e)) as OnexError;
    expect(err.code).toBe('ONEX_EVENT_609');
  });

  it('readiness(): running only between start() and close()', async () => {
    const { p } = make(new FakeKafka());
    expect(p.readiness()).toEqual({ running: { ok: false, detail: 'not started' } });
    await p.start();
    expect(p.readiness()).toEqual({ running: { ok: true } });
    await p.close();
    expect(p.readiness()).toEqual({ running: { ok: false, detail: 'draining' } });
  });

  it('retries a failing send and fails the batch with ONEX_EVENT_612 at the delivery timeout, with a fresh producer id after', async () => {
    const fake = new FakeKafka();
    fake.failWith = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { name: 'KafkaJSConnectionError', retriable: true });
    const { p } = make(fake, { deliveryTimeoutMs: 400 });
    const err = (await p.emit(start()).catch((e: unknown) => e)) as OnexError;
    expect(err.code).toBe('ONEX_EVENT_612');
    expect(err.message).toMatch(/within the delivery timeout of 400 ms.*ECONNREFUSED/);
    expect(fake.attempts).toBeGreaterThan(1);
    fake.failWith = undefined;
    expect((await p.emit(start())).status).toBe('sent');
    expect(fake.producersMade).toBe(2);
  });

  it('fails a batch at the delivery timeout even when its send() never answers (kafkajs reconnecting to a cluster that is gone)', async () => {
    const fake = new FakeKafka();
    let release!: () => void;
    fake.hold = new Promise<void>((r) => (release = r));
    const { p } = make(fake, { deliveryTimeoutMs: 300 });
    const err = (await p.emit(start()).catch((e: unknown) => e)) as OnexError;
    expect(err.code).toBe('ONEX_EVENT_612');
    expect(err.message).toMatch(/within the delivery timeout of 300 ms.*no answer from Kafka before the delivery deadline/);
    // The abandoned send is left to finish; the next event goes through a new producer (a new producer id).
    fake.hold = undefined;
    release();
    expect((await p.emit(start())).status).toBe('sent');
    expect(fake.producersMade).toBe(2);
  });

  it('sends again the records of a partition a send() answered without (kafkajs after a leader change), not reporting them acknowledged', async () => {
    const fake = new FakeKafka();
    fake.partitions = 3;
    const { p } = make(fake, { batch: { lingerMs: 50 } });
    await p.start();
    // Keys spread over the three partitions; the first answer leaves partition 1 out.
    fake.unanswered = [1];
    const events = Array.from({ length: 30 }, (_, i) => start({ correlation_id: `5b0e3c1e-1f2a-4c3b-9d4e-5f6a7b8c9${String(i).padStart(3, '0')}` }));
    const results = await Promise.all(events.map((e) => p.emit(e)));
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    expect(fake.attempts).toBe(2);
    // Every event reached the fake exactly once: the second send carried only partition 1's records.
    const ids = fake.messages.map((m) => decode(m.value).event_id);
    expect(new Set(ids).size).toBe(30);
    expect(ids).toHaveLength(30);
    expect(fake.sends[1]!.messages.length).toBeGreaterThan(0);
    expect(fake.sends[1]!.messages.length).toBeLessThan(30);
  });

  it('halves a batch the broker finds too large, and fails a single record with ONEX_EVENT_602', async () => {
    const fake = new FakeKafka();
    const { p } = make(fake, { batch: { lingerMs: 50 } });
    await p.start();
    const tooLarge = Object.assign(new Error('The request included a message larger than the max message size the server will accept'), {
      name: 'KafkaJSProtocolError',
      type: 'MESSAGE_TOO_LARGE',
      retriable: false,
    });
    fake.failWith = tooLarge;
    const all = Array.from({ length: 4 }, () => p.emit(start()).then(() => 'ok', (e: OnexError) => e.code));
    expect(await Promise.all(all)).toEqual(['ONEX_EVENT_602', 'ONEX_EVENT_602', 'ONEX_EVENT_602', 'ONEX_EVENT_602']);
    expect(fake.attempts).toBe(7); // 4 -> 2 + 2 -> 1 + 1 + 1 + 1
  });
});

describe('OnexProducer with synthetic load', () => {
  it('accepts every synthetic event of every version it writes', async () => {
    for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '2.0.0'] as const) {
      const fake = new FakeKafka();
      const { p } = make(fake, { schemaVersion: version });
      const g = new SyntheticEvents({ versions: [version], failureRate: 0.5 });
      const results = await Promise.all(Array.from({ length: 120 }, () => p.emit(g.next().event)));
      expect(results.every((r) => r.status === 'sent')).toBe(true);
      const types = new Set(fake.messages.map((m) => m.headers['onex-event-type']!.toString()));
      expect(types.size).toBeGreaterThanOrEqual(12);
    }
  });
});
