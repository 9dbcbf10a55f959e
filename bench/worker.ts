/**
 * Stream worker benchmarks, against baselines measured in the same run on the same broker:
 *
 * 1. Throughput: the worker (fetch, decode by schema id, detect the version, upcast 1.0.0 -> 2.0.0, no-op handler,
 *    commit; with its default strict validation and without) beside raw kafkajs eachBatch with JSON.parse of the same
 *    events, pre-serialised as JSON on their own topic (the lightest correct loop: parse, resolveOffset, one heartbeat
 *    per batch). Both read N records from 4 partitions with the same fetch settings and the same
 *    partition concurrency; the clock runs from the first record to the last (group join time excluded for both).
 *    Rounds alternate (raw, worker, raw, worker, ...) so that a noisy neighbour hurts both; the median is reported.
 * 2. End-to-end latency at a fixed moderate rate: OnexProducer with its default linger emits 1.3.0 events at
 *    RATE/s; a worker (target 2.0.0, default options) in a child process records emit -> handler time per event.
 *    Baseline in the same run: a plain kafkajs producer with the same linger sending JSON, read by raw kafkajs.
 *
 * Targets (issue): worker throughput at least 0.9x the raw kafkajs consumer; end-to-end p99 under 50 ms at 5,000/s.
 *
 *   npx tsx bench/worker.ts     (KAFKA_BROKERS, else a local broker in a temp dir; BENCH_EVENTS, BENCH_ROUNDS,
 *                                BENCH_RATE, BENCH_SECONDS override the sizes)
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { OnexEventCodec, registryFromUrl } from '../src/codec/index.js';
import { parseTimestamp } from '../src/event/index.js';
import { startEphemeralBroker } from '../src/dev/index.js';
import { createKafka, ensureTopics } from '../src/kafka/index.js';
import { OnexProducer, PRODUCER_DEFAULTS } from '../src/producer/index.js';
import { createRegistryServer, MemoryStore } from '../src/registry/index.js';
import { createWorker } from '../src/worker/index.js';
import { generateEvent, rng } from '../test/fixtures/events/generate.js';
import { ackTemplates, offerAtRate, offerEvent } from './support.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const PARTITIONS = 4;
const FETCH = { maxBytesPerPartition: 1_048_576, maxWaitTimeInMs: 500 };

const say = (line: string) => process.stderr.write(`[bench/worker] ${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (process.env.BENCH_LATENCY_CHILD) {
  await latencyChild(process.env.BENCH_LATENCY_CHILD);
  process.exit(0);
}

const broker = process.env.KAFKA_BROKERS ? undefined : await startEphemeralBroker({ prefix: 'onex-bench-worker-', onProgress: say });
const brokers = process.env.KAFKA_BROKERS ?? broker!.info.bootstrap;
const loadAtStart = loadavg().map((l) => l.toFixed(1)).join(' / ');
const registryServer = createRegistryServer({ store: new MemoryStore() });
const registryUrl = await registryServer.listen(0, '127.0.0.1');
const kafka: Kafka = createKafka({ brokers });
const codec = new OnexEventCodec({ registry: registryFromUrl(registryUrl) });

try {
  const throughput = await benchThroughput();
  const rawLatency = await benchLatency('raw');
  const workerOnly = await benchLatency('worker', 'plain');
  const latency = await benchLatency('worker');
  const { ratio, ratioNoValidation } = throughput;
  const load = loadavg().map((l) => l.toFixed(1)).join(' / ');
  process.stdout.write(
    [
      `Worker: ${fmt(EVENTS)} events of ~1 KB (1.0.0, mixed types) per round, ${PARTITIONS} partitions, ${ROUNDS} rounds; events/s and CPU µs/event (process CPU time from the first record to the last, over the records) are medians, ratios the median of per-round ratios; node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart} (start) and ${load} (end, 1/5/15 min), broker ${brokers}`,
      '',
      '| consumer | events/s | vs raw kafkajs | CPU µs/event | target |',
      '|---|---|---|---|---|',
      `| raw kafkajs eachBatch + JSON.parse (baseline) | ${fmt(throughput.raw)} | 1.00x | ${throughput.cpu.raw.toFixed(1)} | |`,
      `| onex worker: decode, upcast 1.0.0 -> 2.0.0, strict validation (default), no-op handler | ${fmt(throughput.worker)} | ${ratio.toFixed(2)}x | ${throughput.cpu.worker.toFixed(1)} | >= 0.9x ${ratio >= 0.9 ? 'met' : 'NOT met'} |`,
      `| onex worker, validation off | ${fmt(throughput.workerNoValidation)} | ${ratioNoValidation.toFixed(2)}x | ${throughput.cpu.workerNoValidation.toFixed(1)} | >= 0.9x ${ratioNoValidation >= 0.9 ? 'met' : 'NOT met'} |`,
      '',
      `End-to-end latency, OnexProducer (default linger) -> broker -> worker handler (default options, strict validation, 1.3.0 -> 2.0.0), ${fmt(RATE)} events/s for ${SECONDS} s (first ${WARMUP_SECONDS} s not counted), producer and worker in separate processes:`,
      '',
      '| path | rate | events measured | p50 | p99 | max | producer ack p99 | target |',
      '|---|---|---|---|---|---|---|---|',
      latencyRow(`kafkajs producer (JSON, ${PRODUCER_DEFAULTS.batch.lingerMs} ms linger) -> raw kafkajs eachBatch + JSON.parse (baseline)`, rawLatency, ''),
      latencyRow(`kafkajs producer (Avro via the codec, ${PRODUCER_DEFAULTS.batch.lingerMs} ms linger) -> onex worker`, workerOnly, ''),
      latencyRow('OnexProducer -> onex worker', latency, `p99 < 50 ms ${latency.p99 < 50 ? 'met' : 'NOT met'}`),
      '',
    ].join('\n'),
  );
} finally {
  await registryServer.close();
  await broker?.stop();
}

function latencyRow(path: string, l: Latency, target: string): string {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  return `| ${path} | ${fmt(l.achievedRate)}/s | ${fmt(l.count)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} | ${ms(l.ackP99)} | ${target} |`;
}

type Throughput = { raw: number; worker: number; workerNoValidation: number; ratio: number; ratioNoValidation: number; cpu: { raw: number; worker: number; workerNoValidation: number } };

async function benchThroughput(): Promise<Throughput> {
  const avroTopic = `bench.worker.avro.${randomUUID().slice(0, 8)}`;
  const jsonTopic = `bench.worker.json.${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic: avroTopic, partitions: PARTITIONS },
    { topic: jsonTopic, partitions: PARTITIONS },
    { topic: `${avroTopic}.dlq`, partitions: 1 },
  ]);
  await admin.disconnect();
  await codec.prepare('1.0.0');
  const r = rng(42);
  const events = Array.from({ length: 1000 }, () => generateEvent(r, '1.0.0', { targetBytes: 1024 }));
  const producer = kafka.producer();
  await producer.connect();
  say(`writing ${fmt(EVENTS)} events to each topic`);
  for (let i = 0; i < EVENTS; i += 1000) {
    const slice = Array.from({ length: Math.min(1000, EVENTS - i) }, (_, j) => events[(i + j) % events.length]!);
    const keys = slice.map((e) => String(e.correlation_id ?? e.event_id));
    await producer.send({ topic: avroTopic, messages: slice.map((e, j) => ({ key: keys[j]!, value: codec.encode(e, '1.0.0') })) });
    await producer.send({ topic: jsonTopic, messages: slice.map((e, j) => ({ key: keys[j]!, value: Buffer.from(JSON.stringify(e)) })) });
  }
  await producer.disconnect();

  const raw: Round[] = [];
  const worker: Round[] = [];
  const workerNoValidation: Round[] = [];
  // One round of each, not counted: JIT warm-up and the codec's first schema fetch would otherwise land in round 1.
  await rawRound(jsonTopic);
  await workerRound(avroTopic, 'strict');
  await workerRound(avroTopic, 'off');
  for (let round = 0; round < ROUNDS; round++) {
    raw.push(await rawRound(jsonTopic));
    worker.push(await workerRound(avroTopic, 'strict'));
    workerNoValidation.push(await workerRound(avroTopic, 'off'));
    const r = (x: Round) => `${fmt(x.rate)}/s ${x.cpuMicros.toFixed(1)} µs CPU`;
    say(`round ${round + 1}: raw ${r(raw.at(-1)!)}, worker ${r(worker.at(-1)!)}, worker without validation ${r(workerNoValidation.at(-1)!)} (load ${loadavg()[0]!.toFixed(1)})`);
  }
  // Ratios are taken per round (each worker round beside the raw round just before it) and then the median: on a
  // shared machine the load drifts between rounds, and a paired ratio cancels most of that drift.
  const rates = (xs: Round[]) => xs.map((x) => x.rate);
  const cpu = (xs: Round[]) => median(xs.map((x) => x.cpuMicros));
  return {
    raw: median(rates(raw)),
    worker: median(rates(worker)),
    workerNoValidation: median(rates(workerNoValidation)),
    ratio: median(worker.map((w, i) => w.rate / raw[i]!.rate)),
    ratioNoValidation: median(workerNoValidation.map((w, i) => w.rate / raw[i]!.rate)),
    cpu: { raw: cpu(raw), worker: cpu(worker), workerNoValidation: cpu(workerNoValidation) },
  };
}

/**
 * The raw kafkajs baseline's eachBatch: the lightest correct loop (JSON.parse, resolveOffset, one heartbeat per batch),
 * so that the baseline is as strong as kafkajs gets.
 */
function rawEachBatch(onEvent: (event: Record<string, unknown>) => void) {
  return async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    // isStale() once per batch: only consumer.seek() makes a batch stale, and nothing seeks here (the worker asks it on
    // a clock, for the same reason).
    if (isStale()) return;
    for (const m of batch.messages) {
      if (!isRunning()) break;
      onEvent(JSON.parse(m.value!.toString('utf8')) as Record<string, unknown>);
      resolveOffset(m.offset);
    }
    await heartbeat();
  };
}

/**
 * Records per second from the first record to the N-th, and the process's CPU time per record over the same span
 * (the machine is shared: CPU per record moves far less with the neighbours' load than records per second).
 */
type Round = { rate: number; cpuMicros: number };

function clock() {
  let first = 0;
  let firstCpu: NodeJS.CpuUsage | undefined;
  let n = 0;
  let resolve!: (round: Round) => void;
  const done = new Promise<Round>((r) => (resolve = r));
  return {
    done,
    tick(count = 1) {
      if (n === 0) {
        first = performance.now();
        firstCpu = process.cpuUsage();
      }
      n += count;
      if (n >= EVENTS) {
        const cpu = process.cpuUsage(firstCpu);
        resolve({ rate: (EVENTS / (performance.now() - first)) * 1000, cpuMicros: (cpu.user + cpu.system) / EVENTS });
      }
    },
  };
}

async function rawRound(topic: string): Promise<Round> {
  const c = clock();
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomUUID()}`, ...FETCH });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let sink = 0;
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatchAutoResolve: false,
    eachBatch: rawEachBatch((e) => {
      if (e.event_type) sink++;
      c.tick();
    }),
  });
  const round = await c.done;
  await consumer.disconnect();
  if (sink === 0) throw new Error('the raw consumer parsed no events');
  return round;
}

async function workerRound(topic: string, validation: 'strict' | 'off'): Promise<Round> {
  const c = clock();
  const w = createWorker({
    kafka,
    groupId: `bench-worker-${randomUUID()}`,
    topics: topic,
    decoder: codec,
    targetVersion: '2.0.0',
    fromBeginning: true,
    concurrency: PARTITIONS,
    validation,
    metricsRegistry: new Registry(),
    consumer: { maxBytesPerPartition: FETCH.maxBytesPerPartition, maxWaitTimeMs: FETCH.maxWaitTimeInMs },
    handlers: { '*': () => c.tick() },
  });
  await w.start();
  const round = await c.done;
  await w.stop();
  const s = w.stats();
  if (s.deadLettered > 0) throw new Error(`${s.deadLettered} events were dead-lettered in the benchmark: the input is wrong`);
  return round;
}

/**
 * The consumer runs in a child process (as in production: producers and workers are different services), so that the
 * two do not take turns on one event loop. Latency = handler time - the event's timestamp, set when the event is
 * emitted; both clocks are this machine's wall clock. Baseline: the same events as JSON, sent by a plain kafkajs
 * producer in batches every LINGER ms (the OnexProducer default), read by raw kafkajs eachBatch + JSON.parse.
 */
type Latency = { p50: number; p99: number; max: number; count: number; achievedRate: number; ackP99: number };

async function benchLatency(mode: 'worker' | 'raw', producerKind: 'onex' | 'plain' = mode === 'raw' ? 'plain' : 'onex'): Promise<Latency> {
  const topic = `bench.worker.latency.${mode}.${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, partitions: PARTITIONS }, { topic: `${topic}.dlq`, partitions: 1 }]);
  await admin.disconnect();
  const total = RATE * SECONDS;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_LATENCY_CHILD: mode, BENCH_TOPIC: topic, KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registryUrl, BENCH_EXPECT: String(total) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<void>((resolve) => lines.once('line', () => resolve()));
  const result = new Promise<string>((resolve) => lines.on('line', (l) => l.startsWith('{') && resolve(l)));
  await ready;
  const templates = ackTemplates();
  const onex = producerKind === 'onex' ? new OnexProducer({ kafka, codec, topic, metricsRegistry: new Registry() }) : undefined;
  const plain = producerKind === 'plain' ? kafka.producer({ idempotent: true, maxInFlightRequests: 1 }) : undefined;
  if (mode === 'worker') await codec.prepare('1.3.0');
  await onex?.start();
  await plain?.connect();
  say(`${producerKind} producer -> ${mode}: emitting ${fmt(RATE)} events/s for ${SECONDS} s, consumer in a child process`);
  const start = performance.now();
  let emitted = 0;
  let failed = 0;
  const acks: number[] = [];
  // The raw producer batches like a linger-based producer: what was emitted while a send was in flight (or during
  // the linger) goes out in the next send, so a slow acknowledgement makes batches larger, not a queue longer.
  let pending: Array<{ key: string; value: Buffer; at: number }> = [];
  let inFlight: Promise<void> | undefined;
  let lastSend = start;
  const sendPending = () => {
    const batch = pending;
    pending = [];
    lastSend = performance.now();
    inFlight = plain!
      .send({ topic, acks: -1, messages: batch.map(({ key, value }) => ({ key, value })) })
      .then(
        () => {
          const now = performance.now();
          for (const m of batch) acks.push(now - m.at);
        },
        () => void (failed += batch.length),
      )
      .finally(() => (inFlight = undefined));
  };
  await offerAtRate({
    rate: RATE,
    total,
    start,
    emit: (i, at) => {
      offerEvent(onex, templates[i % templates.length]!, at, acks, () => failed++, (e) => {
        const value = mode === 'raw' ? Buffer.from(JSON.stringify(e)) : codec.encode(e, '1.3.0');
        pending.push({ key: String(e.correlation_id ?? e.event_id), value, at });
      });
      emitted++;
    },
    tick: (now) => {
      if (plain && pending.length > 0 && !inFlight && now - lastSend >= PRODUCER_DEFAULTS.batch.lingerMs) sendPending();
    },
    settled: () => pending.length === 0 && !inFlight,
  });
  const achievedRate = emitted / ((performance.now() - start) / 1000);
  await onex?.close();
  await plain?.disconnect();
  if (failed > 0) say(`${failed} sends failed`);
  acks.sort((a, b) => a - b);
  const ackP99 = acks[Math.min(acks.length - 1, Math.floor(0.99 * acks.length))] ?? NaN;
  const out = JSON.parse(await result) as Omit<Latency, 'achievedRate' | 'ackP99'>;
  return { ...out, achievedRate, ackP99 };
}

/** The child side of benchLatency: a worker with default options (or raw kafkajs) recording latencies. */
async function latencyChild(mode: string): Promise<void> {
  const expect = Number(process.env.BENCH_EXPECT);
  const skip = WARMUP_SECONDS * RATE;
  const childKafka = createKafka({ brokers: process.env.KAFKA_BROKERS! });
  const topic = process.env.BENCH_TOPIC!;
  const latencies: number[] = [];
  let seen = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const record = (timestamp: string) => {
    const nowMicros = (performance.timeOrigin + performance.now()) * 1000;
    if (seen++ >= skip) latencies.push((nowMicros - parseTimestamp(timestamp)!.micros) / 1000);
    if (seen >= expect) finish();
  };
  let stop: () => Promise<void>;
  if (mode === 'worker') {
    const w = createWorker({
      kafka: childKafka,
      groupId: `bench-latency-${randomUUID()}`,
      topics: topic,
      decoder: new OnexEventCodec({ registry: registryFromUrl(process.env.SCHEMA_REGISTRY_URL!) }),
      targetVersion: '2.0.0',
      // The topic is new: from the beginning, so that nothing produced between the join and the first fetch is missed.
      fromBeginning: true,
      handlers: { '*': (event) => record(event.timestamp) },
    });
    await w.start();
    await w.joined();
    stop = () => w.stop();
  } else {
    const consumer = childKafka.consumer({ groupId: `bench-latency-raw-${randomUUID()}`, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let joined!: () => void;
    const isJoined = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatchAutoResolve: false,
      eachBatch: rawEachBatch((e) => record(e.timestamp as string)),
    });
    await isJoined;
    stop = () => consumer.disconnect();
  }
  process.stdout.write('ready\n');
  await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, (SECONDS + 60) * 1000))]);
  await stop();
  const sorted = latencies.sort((a, b) => a - b);
  const q = (x: number) => sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))] ?? NaN;
  process.stdout.write(`${JSON.stringify({ p50: q(0.5), p99: q(0.99), max: sorted.at(-1) ?? NaN, count: sorted.length })}\n`);
}
