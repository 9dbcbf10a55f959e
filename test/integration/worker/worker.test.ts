import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onexError, SCHEMA_VERSIONS, type AnyOnexEvent, type SchemaVersion } from '../../../src/event/index.js';
import { buildDeadLetter, createWorker, DLQ_HEADERS, headerText, readDeadLetterHeaders, redriveDeadLetters, type HandlerContext, type Worker, type WorkerOptions } from '../../../src/worker/index.js';
import { uniqueTopic } from '../../support/kafka.js';
import { OnexEventCodec, registryFromUrl } from '../../../src/codec/index.js';
import { freePort } from '../../../src/dev/index.js';
import { createRegistryServer, MemoryStore } from '../../../src/registry/index.js';
import { committedTotal, createTopic, encoded, eventOf, poisonRecords, produce, produceEvents, readTopic, startPipeline, waitFor, type Pipeline } from './pipeline.js';

let p: Pipeline;
const running: Worker[] = [];

beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  await Promise.allSettled(running.map((w) => w.stop()));
  await p?.close();
});

function worker(options: Omit<WorkerOptions, 'kafka' | 'decoder'> & Partial<Pick<WorkerOptions, 'decoder'>>): Worker {
  const w = createWorker({
    kafka: p.kafka,
    decoder: p.codec,
    fromBeginning: true,
    metricsRegistry: new Registry(),
    retry: { initialBackoffMs: 20, maxBackoffMs: 100 },
    consumer: { maxWaitTimeMs: 100 },
    ...options,
  });
  running.push(w);
  return w;
}

interface Seen {
  event: AnyOnexEvent;
  ctx: HandlerContext;
}

describe('stream worker on a real broker and registry', () => {
  it('a stream mixing all five versions reaches the handlers as the target version (2.0.0), written version at hand', async () => {
    const topic = uniqueTopic('worker-mix');
    await createTopic(p, topic, 3);
    const sent = new Map<string, SchemaVersion>();
    const inputs = [];
    for (let i = 0; i < 50; i++) {
      const v = SCHEMA_VERSIONS[i % SCHEMA_VERSIONS.length]!;
      const { id, input } = encoded(p, v);
      sent.set(id, v);
      inputs.push(input);
    }
    await produce(p, topic, inputs);
    const seen: Seen[] = [];
    const w = worker({ groupId: `g-${topic}`, topics: topic, handlers: { NODE_START: (event, ctx) => void seen.push({ event, ctx }) } });
    await w.start();
    await waitFor('all 50 events', () => seen.length >= 50);
    await w.stop();
    expect(new Set(seen.map((s) => s.event.event_id))).toEqual(new Set(sent.keys()));
    for (const { event, ctx } of seen) {
      expect((event as { schema_version?: string }).schema_version).toBe('2.0.0');
      // 2.0.0 shape: typed metadata record, trace/error/security fields present.
      expect(event).toHaveProperty('trace');
      expect(event).toHaveProperty('security');
      expect((event.metadata as { input_state: { version: string } }).input_state.version).toBe(sent.get(event.event_id));
      expect(ctx.writerVersion).toBe(sent.get(event.event_id));
      expect(ctx.targetVersion).toBe('2.0.0');
    }
    const versions = await w.metrics.writerVersions.get();
    expect(Object.fromEntries(versions.values.map((v) => [v.labels.version, v.value]))).toEqual({ '1.0.0': 10, '1.1.0': 10, '1.2.0': 10, '1.3.0': 10, '2.0.0': 10 });
    expect(await committedTotal(p, `g-${topic}`, topic)).toBe(50);
  });

  it('handlers that speak 1.3.0 get 2.0.0 events downcast, and 1.x events upcast only as far as 1.3.0', async () => {
    const topic = uniqueTopic('worker-down');
    await createTopic(p, topic);
    await produce(p, topic, [encoded(p, '2.0.0').input, encoded(p, '1.0.0').input]);
    const seen: Seen[] = [];
    const w = worker({ groupId: `g-${topic}`, topics: topic, targetVersion: '1.3.0', handlers: { '*': (event, ctx) => void seen.push({ event, ctx }) } });
    await w.start();
    await waitFor('2 events', () => seen.length >= 2);
    await w.stop();
    expect(seen.map((s) => [s.ctx.writerVersion, (s.event as { schema_version?: string }).schema_version])).toEqual([
      ['2.0.0', '1.3.0'],
      ['1.0.0', '1.3.0'],
    ]);
    expect(seen[0]!.event).not.toHaveProperty('trace');
    expect((seen[0]!.event.metadata as Record<string, unknown>).input_state).toEqual({ file: 'a.py', version: '2.0.0' });
  });

  it('poison of every kind lands in the dead-letter topic with its code and source; the good records around it are handled', async () => {
    const topic = uniqueTopic('worker-poison');
    await createTopic(p, topic);
    const poison = await poisonRecords(p);
    const good = SCHEMA_VERSIONS.map((v) => encoded(p, v));
    // good, poison, good, poison, ...: one partition, so the worker must get past each poison record to reach the next.
    const inputs = [];
    for (let i = 0; i < poison.length; i++) inputs.push(good[i % good.length]!.input, poison[i]!.input);
    inputs.push(...good.map((g) => g.input));
    await produce(p, topic, inputs);
    const handled: string[] = [];
    const attemptsOfExploding: number[] = [];
    const w = worker({
      groupId: `g-${topic}`,
      topics: topic,
      handlers: {
        '*': (event, ctx) => {
          if (event.node_id === 'explode_node-001') {
            attemptsOfExploding.push(ctx.attempt);
            throw new Error('the downstream store refused the write');
          }
          handled.push(event.event_id);
        },
      },
    });
    await w.start();
    const dlq = await readTopic(p, `${topic}.dlq`, poison.length);
    await waitFor('every record committed', async () => (await committedTotal(p, `g-${topic}`, topic)) === inputs.length);
    await w.stop();

    expect(dlq.map((r) => headerText(r.headers, DLQ_HEADERS.errorCode))).toEqual(poison.map((x) => x.code));
    for (const [i, r] of dlq.entries()) {
      const info = readDeadLetterHeaders(r.headers);
      expect(Buffer.compare(r.value!, poison[i]!.input.value!), poison[i]!.name).toBe(0);
      expect(info.sourceTopic).toBe(topic);
      expect(info.sourcePartition).toBe(0);
      expect(info.sourceOffset).toBe(String(2 * i + 1));
      expect(info.group).toBe(`g-${topic}`);
      expect(info.reason!.length).toBeGreaterThan(0);
      expect(info.attempts).toBe(poison[i]!.code === 'ONEX_EVENT_610' ? 3 : 1);
    }
    expect(dlq[0]!.key?.toString()).toBe('poison-magic');
    expect(attemptsOfExploding).toEqual([1, 2, 3]);
    const expectedGood = [...poison.map((_, i) => good[i % good.length]!.id), ...good.map((g) => g.id)];
    expect(handled).toEqual(expectedGood);
    expect(w.stats()).toMatchObject({ handled: expectedGood.length, deadLettered: poison.length });
    const dead = await w.metrics.deadLetters.get();
    expect(Object.fromEntries(dead.values.map((v) => [v.labels.code, v.value]))).toEqual({ ONEX_EVENT_604: 2, ONEX_EVENT_605: 1, ONEX_SCHEMA_701: 1, ONEX_VALID_105: 1, ONEX_EVENT_610: 1 });
  });

  it('partitions run concurrently and records of one partition stay in order', async () => {
    const topic = uniqueTopic('worker-order');
    await createTopic(p, topic, 4);
    const perPartition = 40;
    for (let part = 0; part < 4; part++) {
      await produce(p, topic, Array.from({ length: perPartition }, (_, i) => encoded(p, '1.1.0', { node_id: `p${part}_node-${String(i).padStart(3, '0')}` }).input), part);
    }
    const order = new Map<number, string[]>();
    let inFlight = 0;
    let maxInFlight = 0;
    const w = worker({
      groupId: `g-${topic}`,
      topics: topic,
      concurrency: 4,
      handlers: {
        '*': async (event, ctx) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((r) => setTimeout(r, 2));
          inFlight--;
          order.set(ctx.partition, [...(order.get(ctx.partition) ?? []), event.node_id]);
        },
      },
    });
    await w.start();
    await waitFor('160 events', () => [...order.values()].reduce((n, l) => n + l.length, 0) >= 4 * perPartition);
    await w.stop();
    for (const [part, nodes] of order) {
      expect(nodes).toEqual(Array.from({ length: perPartition }, (_, i) => `p${part}_node-${String(i).padStart(3, '0')}`));
    }
    expect(maxInFlight).toBeGreaterThan(1);
  });

  it('two workers in one group share the partitions, and every event is handled', async () => {
    const topic = uniqueTopic('worker-share');
    await createTopic(p, topic, 4);
    const groupId = `g-${topic}`;
    const byWorker: Array<Set<string>> = [new Set(), new Set()];
    const partitionsOf: Array<Set<number>> = [new Set(), new Set()];
    const make = (n: 0 | 1) =>
      worker({
        groupId,
        topics: topic,
        handlers: {
          '*': (event, ctx) => {
            byWorker[n]!.add(event.event_id);
            partitionsOf[n]!.add(ctx.partition);
          },
        },
      });
    const a = make(0);
    const b = make(1);
    await a.start();
    await a.joined();
    await b.start();
    await waitFor('both members hold partitions', () => {
      const pa = a.assignment()[topic] ?? [];
      const pb = b.assignment()[topic] ?? [];
      return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 4;
    });
    const ids = await produceEvents(p, topic, 200, '1.2.0');
    await waitFor('all 200 handled', () => new Set([...byWorker[0]!, ...byWorker[1]!]).size >= 200);
    await Promise.all([a.stop(), b.stop()]);
    expect(new Set([...byWorker[0]!, ...byWorker[1]!])).toEqual(new Set(ids));
    expect(byWorker[0]!.size).toBeGreaterThan(0);
    expect(byWorker[1]!.size).toBeGreaterThan(0);
    // Each partition was handled by one member only (no rebalance happened after both joined).
    for (const part of partitionsOf[0]!) expect(partitionsOf[1]!.has(part)).toBe(false);
  });

  it('stop() finishes the record in hand, commits it, and a new worker of the group continues after it (nothing twice, nothing lost)', async () => {
    const topic = uniqueTopic('worker-stop');
    await createTopic(p, topic);
    const ids = await produceEvents(p, topic, 30, '1.0.0');
    const groupId = `g-${topic}`;
    const first: string[] = [];
    let stopping: Promise<void> | undefined;
    const w1 = worker({
      groupId,
      topics: topic,
      handlers: {
        '*': async (event) => {
          if (first.length === 10) stopping = w1.stop(); // stop while this record is in hand
          await new Promise((r) => setTimeout(r, 50));
          first.push(event.event_id);
        },
      },
    });
    await w1.start();
    await waitFor('the stop to be asked', () => stopping !== undefined);
    await stopping;
    expect(first).toHaveLength(11);
    expect(await committedTotal(p, groupId, topic)).toBe(11);
    const second: string[] = [];
    const w2 = worker({ groupId, topics: topic, handlers: { '*': (e) => void second.push(e.event_id) } });
    await w2.start();
    await waitFor('the rest', () => second.length >= 19);
    await w2.stop();
    expect([...first, ...second]).toEqual(ids);
  });

  it('dead letters redriven after the fix go through the same decode and upcast path and are handled', async () => {
    const topic = uniqueTopic('worker-redrive');
    await createTopic(p, topic);
    const sent = [encoded(p, '1.0.0'), encoded(p, '1.3.0'), encoded(p, '2.0.0')];
    await produce(p, topic, sent.map((s) => ({ ...s.input, headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } })));
    let fixed = false;
    const handled: Array<[string, SchemaVersion, string | undefined]> = [];
    const w = worker({
      groupId: `g-${topic}`,
      topics: topic,
      retry: { maxAttempts: 1 },
      handlers: {
        '*': (event, ctx) => {
          if (!fixed) throw onexError('ONEX_EVENT_610', 'the downstream service is down');
          handled.push([event.event_id, ctx.writerVersion, headerText(ctx.headers, 'traceparent')]);
        },
      },
    });
    await w.start();
    await readTopic(p, `${topic}.dlq`, 3);
    fixed = true;
    const letters: string[] = [];
    const result = await redriveDeadLetters({ kafka: p.kafka, deadLetterTopic: `${topic}.dlq`, groupId: `redrive-${topic}`, onLetter: (l) => letters.push(l.action) });
    expect(result).toEqual({ redriven: 3, skipped: 0, byCode: { ONEX_EVENT_610: 3 } });
    await waitFor('the redriven events', () => handled.length >= 3);
    // A second redrive finds nothing new: progress is committed.
    expect(await redriveDeadLetters({ kafka: p.kafka, deadLetterTopic: `${topic}.dlq`, groupId: `redrive-${topic}` })).toEqual({ redriven: 0, skipped: 0, byCode: {} });
    await w.stop();
    expect(handled.map((h) => h[0])).toEqual(sent.map((s) => s.id));
    expect(handled.map((h) => h[1])).toEqual(['1.0.0', '1.3.0', '2.0.0']);
    expect(handled.every((h) => h[2] === '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBe(true);
    expect(letters).toEqual(['redriven', 'redriven', 'redriven']);
  });

  it('a handler running longer than the session timeout keeps its membership (heartbeats during the record): no redelivery', async () => {
    const topic = uniqueTopic('worker-slow');
    await createTopic(p, topic);
    const sent = [encoded(p, '1.1.0'), encoded(p, '1.1.0')];
    await produce(p, topic, sent.map((s) => s.input));
    const calls: string[] = [];
    const w = worker({
      groupId: `g-${topic}`,
      topics: topic,
      consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, maxWaitTimeMs: 100 },
      handlers: {
        '*': async (event) => {
          calls.push(event.event_id);
          if (calls.length === 1) await new Promise((r) => setTimeout(r, 9_000));
        },
      },
    });
    await w.start();
    await waitFor('both records committed', async () => (await committedTotal(p, `g-${topic}`, topic)) === 2, 60_000, 200);
    await w.stop();
    // Evicted from the group, the worker would have rejoined and been handed the slow record again.
    expect(calls).toEqual(sent.map((s) => s.id));
  });

  it('a member joining mid-stream (a rebalance) neither loses an event nor re-runs one', async () => {
    const topic = uniqueTopic('worker-rebalance');
    await createTopic(p, topic, 4);
    const groupId = `g-${topic}`;
    const ids = await produceEvents(p, topic, 400);
    const handled: string[] = [];
    const byB: string[] = [];
    const slow = (into?: string[]) => async (event: AnyOnexEvent) => {
      await new Promise((r) => setTimeout(r, 10));
      handled.push(event.event_id);
      into?.push(event.event_id);
    };
    const consumer = { heartbeatIntervalMs: 500, maxWaitTimeMs: 100 };
    const a = worker({ groupId, topics: topic, concurrency: 2, consumer, handlers: { '*': slow() } });
    await a.start();
    await waitFor('the first member to be mid-run', () => handled.length >= 40);
    const b = worker({ groupId, topics: topic, concurrency: 2, consumer, handlers: { '*': slow(byB) } });
    await b.start();
    await waitFor('every event', () => new Set(handled).size >= 400);
    await Promise.all([a.stop(), b.stop()]);
    expect(byB.length).toBeGreaterThan(0);
    expect(new Set(handled)).toEqual(new Set(ids));
    // kafkajs commits the resolved offsets before it rejoins, and the worker resolves each record as soon as its
    // handler finished: nothing handled is handed out again.
    expect(handled.length).toBe(400);
    expect(await committedTotal(p, groupId, topic)).toBe(400);
  });

  it('an event type the target version does not know reaches the catch-all as UNKNOWN and is counted, not refused', async () => {
    const topic = uniqueTopic('worker-unknown');
    await createTopic(p, topic);
    const profile = encoded(p, '1.3.0', { event_type: 'PERFORMANCE_PROFILE', metadata: { operation: 'stamp', duration_ms: 12.5 } });
    const start = encoded(p, '1.0.0');
    await produce(p, topic, [profile.input, start.input]);
    const own: string[] = [];
    const caught: Array<[string, string]> = [];
    const w = worker({
      groupId: `g-${topic}`,
      topics: topic,
      targetVersion: '1.0.0',
      handlers: { NODE_START: (e) => void own.push(e.event_id), '*': (e) => void caught.push([e.event_id, e.event_type]) },
    });
    await w.start();
    await waitFor('both events', () => own.length + caught.length >= 2);
    await w.stop();
    expect(caught).toEqual([[profile.id, 'UNKNOWN']]);
    expect(own).toEqual([start.id]);
    expect((await w.metrics.unknownTypes.get()).values[0]?.value).toBe(1);
    expect(w.stats()).toMatchObject({ handled: 2, deadLettered: 0 });
  });

  it('waits out a schema registry outage instead of dead-lettering every record, then handles them all', async () => {
    const topic = uniqueTopic('worker-outage');
    await createTopic(p, topic);
    await createTopic(p, `${topic}.dlq`);
    const port = await freePort();
    const serve = async () => {
      const server = createRegistryServer({ store: new MemoryStore() });
      const url = await server.listen(port, '127.0.0.1');
      // A fresh store gives the first schema registered id 1 again, so records written before the outage decode after it.
      const id = await new OnexEventCodec({ registry: registryFromUrl(url) }).prepare('1.1.0');
      return { server, url, id };
    };
    const first = await serve();
    const writer = new OnexEventCodec({ registry: registryFromUrl(first.url) });
    await writer.prepare('1.1.0');
    const events = Array.from({ length: 5 }, () => eventOf('1.1.0'));
    await first.server.close();
    await produce(p, topic, events.map((e) => ({ key: e.correlation_id as string, value: writer.encode(e, '1.1.0') })));

    const handled: string[] = [];
    const w = worker({
      groupId: `g-${topic}`,
      topics: topic,
      decoder: new OnexEventCodec({ registry: registryFromUrl(first.url, { retries: 0, timeoutMs: 1_000 }) }),
      retry: { maxAttempts: 2, initialBackoffMs: 50, maxBackoffMs: 200 },
      handlers: { '*': (e) => void handled.push(e.event_id) },
    });
    await w.start();
    await waitFor('several failed attempts', async () => ((await w.metrics.errors.get()).values.find((v) => v.labels.code === 'ONEX_REG_206')?.value ?? 0) >= 4);
    expect(handled).toEqual([]);
    const second = await serve();
    try {
      expect(second.id).toBe(first.id);
      await waitFor('all 5 handled after the registry came back', () => handled.length >= 5);
    } finally {
      await w.stop();
      await second.server.close();
    }
    expect(handled).toEqual(events.map((e) => e.event_id));
    expect(w.stats().deadLettered).toBe(0);
    const [dlq] = await p.admin.fetchTopicOffsets(`${topic}.dlq`);
    expect(dlq?.high).toBe('0');
  });

  it('a redrive filtered by code keeps its own progress, so a later redrive of another code still finds its letters', async () => {
    const source = uniqueTopic('worker-redrive-codes');
    const dlqTopic = `${source}.dlq`;
    const target = `${source}.again`;
    await createTopic(p, dlqTopic);
    await createTopic(p, target);
    const letter = (code: 'ONEX_EVENT_605' | 'ONEX_EVENT_610', offset: number) => {
      const m = buildDeadLetter(
        { topic: source, partition: 0, offset: String(offset), key: null, value: encoded(p, '1.0.0').input.value },
        { error: onexError(code, 'failed'), attempts: 1, groupId: 'g' },
      );
      return { value: m.value as Buffer, headers: m.headers! };
    };
    await produce(p, dlqTopic, [letter('ONEX_EVENT_605', 0), letter('ONEX_EVENT_610', 1), letter('ONEX_EVENT_605', 2)]);
    const first = await redriveDeadLetters({ kafka: p.kafka, deadLetterTopic: dlqTopic, toTopic: target, codes: ['ONEX_EVENT_605'] });
    expect(first).toEqual({ redriven: 2, skipped: 1, byCode: { ONEX_EVENT_605: 2 } });
    const second = await redriveDeadLetters({ kafka: p.kafka, deadLetterTopic: dlqTopic, toTopic: target, codes: ['ONEX_EVENT_610'] });
    expect(second).toEqual({ redriven: 1, skipped: 2, byCode: { ONEX_EVENT_610: 1 } });
    const again = await redriveDeadLetters({ kafka: p.kafka, deadLetterTopic: dlqTopic, toTopic: target, codes: ['ONEX_EVENT_605'] });
    expect(again.redriven).toBe(0);
    const [t] = await p.admin.fetchTopicOffsets(target);
    expect(t?.high).toBe('3');
  });

  it('stop() gives up on a handler that never returns after shutdownTimeoutMs; the record is not committed and goes to the next member', async () => {
    const topic = uniqueTopic('worker-hang');
    await createTopic(p, topic);
    const groupId = `g-${topic}`;
    const [id] = await produceEvents(p, topic, 1, '1.2.0');
    let entered = false;
    const consumer = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, maxWaitTimeMs: 100 };
    const stuck = worker({
      groupId,
      topics: topic,
      consumer,
      shutdownTimeoutMs: 1_500,
      handlers: {
        '*': () => {
          entered = true;
          return new Promise(() => undefined);
        },
      },
    });
    await stuck.start();
    await waitFor('the handler to hang', () => entered);
    const t0 = Date.now();
    await stuck.stop();
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await committedTotal(p, groupId, topic)).toBe(0);
    const handled: string[] = [];
    const next = worker({ groupId, topics: topic, consumer, handlers: { '*': (e) => void handled.push(e.event_id) } });
    const t1 = Date.now();
    await next.start(); // joins the group: waits for the rebalance, which waits for the stuck member to leave
    await waitFor('the record at the next member', () => handled.length >= 1, 30_000);
    // The stuck member's session (6 s) expired because it stopped heartbeating; had it kept heartbeating, only the
    // 60 s rebalance timeout would have evicted it.
    expect(Date.now() - t1).toBeLessThan(30_000);
    await next.stop();
    expect(handled).toEqual([id]);
  });
});
