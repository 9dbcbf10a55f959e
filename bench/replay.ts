/**
 * Finding and replaying one flow out of a large topic, beside what a tool without an index does, in one run:
 *
 * - the topic: BENCH_EVENTS (default 1,000,000) Avro 1.3.0 events of BENCH_FLOW_EVENTS (10) events a flow, keyed by
 *   correlation id over 12 partitions, written with a plain kafkajs producer;
 * - the index: the correlation index processor over the whole topic (events/s and CPU µs per event of indexing);
 * - finding one flow (BENCH_FLOWS = 5 flows picked at random, the median reported): time to the first replayed
 *   event and records read (a) through the index (lookup + the flow's own range), (b) by the producer's partitioner
 *   without the index (the flow's whole partition), (c) by a full scan of the topic (what kcat or a consumer would
 *   do: every record read, keys compared, nothing decoded), all three in the same run;
 * - replay pacing: one flow of BENCH_PACED (2,000) events over 10 s replayed at speeds 10, 100 and max: elapsed vs
 *   the schedule, schedule error (emit time minus due time) p50/p99, events/s and CPU µs per event, beside a plain
 *   kafkajs send of the same encoded events (the floor: no read, no decode, no pacing).
 *
 * The pacing part runs each speed with two pacers (PacerOptions), interleaved: timers only (earlyMs 0, the
 * baseline) and the default (earlyMs 1: events due within 1 ms released together). Beside each, the event loop's
 * delay over the same replays (perf_hooks): a stall of the loop delays every event due in it, whatever the pacer. BENCH_ONLY=schedule runs only that part (the
 * topic holds only the long flow, found by the partitioner), BENCH_ROUNDS (default 1; 3 with BENCH_ONLY) times each.
 *
 * KAFKA_BROKERS points at a broker, else one is started here.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { OnexEventCodec, registryFromUrl } from '../src/codec/index.js';
import { startEphemeralBroker } from '../src/dev/index.js';
import { formatTimestamp } from '../src/event/index.js';
import { createKafka, ensureTopics } from '../src/kafka/index.js';
import { CorrelationLookup, createCorrelationIndex } from '../src/processors/index.js';
import { dueOffsets, runReplay, wholeTopic, type PacerOptions, type ReplaySpeed } from '../src/replay/index.js';
import { createRegistryServer, MemoryStore } from '../src/registry/index.js';

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const FLOW = Number(process.env.BENCH_FLOW_EVENTS ?? 10);
const PICKS = Number(process.env.BENCH_FLOWS ?? 5);
const PACED = Number(process.env.BENCH_PACED ?? 2_000);
const PARTITIONS = 12;
const SCHEDULE_ONLY = process.env.BENCH_ONLY === 'schedule';
if (process.env.BENCH_ONLY !== undefined && !SCHEDULE_ONLY) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY}: only BENCH_ONLY=schedule is known`);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (SCHEDULE_ONLY ? 3 : 1));
const say = (l: string) => process.stderr.write(`${l}\n`);

const broker = process.env.KAFKA_BROKERS ? undefined : await startEphemeralBroker({ prefix: 'onex-bench-replay-', onProgress: say });
const brokers = (process.env.KAFKA_BROKERS ?? broker!.info.bootstrap).split(',');
const registryServer = createRegistryServer({ store: new MemoryStore() });
const registryUrl = await registryServer.listen(0, '127.0.0.1');
const codec = new OnexEventCodec({ registry: registryFromUrl(registryUrl) });
await codec.prepare('1.3.0');
await codec.prepare('2.0.0');
const kafka: Kafka = createKafka({ brokers });
const admin = kafka.admin();
await admin.connect();
const run = randomUUID().slice(0, 8);
const topic = `bench-replay-${run}`;
const indexTopic = `bench-replay-${run}.correlations`;
await ensureTopics(admin, [{ topic, partitions: PARTITIONS }]);

const BASE_MS = Date.UTC(2026, 0, 2, 3, 0, 0);
function event(correlation_id: string, i: number, timeMs: number) {
  return {
    event_id: randomUUID(),
    timestamp: formatTimestamp(timeMs * 1000),
    node_id: `node_${i % 4}-001`,
    event_type: i === 0 ? 'NODE_START' : 'STRUCTURED_LOG',
    correlation_id,
    schema_version: '1.3.0',
    metadata: { input_state: { file: 'src/app.py', step: i } },
  };
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

// 1. The topic: BENCH_CONCURRENT (1,000) flows in flight at a time, their events interleaved round robin (as live
// traffic of concurrent operations is), one wave after another; and the long flow the pacing part replays.
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 1_000);
const flows = SCHEDULE_ONLY ? 0 : Math.ceil(N / FLOW);
const ids = Array.from({ length: flows }, () => randomUUID());
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
let t = performance.now();
let written = 0;
const BATCH = 4_000;
let pending: Array<{ key: string; value: Buffer }> = [];
const push = async (key: string, value: Buffer) => {
  pending.push({ key, value });
  written++;
  if (pending.length === BATCH) {
    await producer.send({ topic, acks: -1, messages: pending });
    pending = [];
  }
};
for (let wave = 0; wave < flows; wave += CONCURRENT) {
  const last = Math.min(flows, wave + CONCURRENT);
  for (let i = 0; i < FLOW; i++) for (let f = wave; f < last; f++) await push(ids[f]!, codec.encode(event(ids[f]!, i, BASE_MS + f * 10 + i * 1_000), '1.3.0'));
}
const paced = randomUUID();
const span = 10_000;
const times = Array.from({ length: PACED }, (_, i) => BASE_MS + Math.round((i * span) / (PACED - 1)));
const encoded = times.map((ms, i) => codec.encode(event(paced, i, ms), '1.3.0'));
for (const value of encoded) await push(paced, value);
if (pending.length) await producer.send({ topic, acks: -1, messages: pending });
say(`wrote ${fmt(written)} events in ${fmt((performance.now() - t) / 1000, 1)} s`);

let cpu = process.cpuUsage();
let indexSeconds = 0;
let indexCpu = 0;
let indexRecords = 0;
const rows = { indexed: [] as number[][], hashed: [] as number[][], scan: [] as number[][], lookup: [] as number[][] };
if (!SCHEDULE_ONLY) {
  // 2. The index over the whole topic.
  cpu = process.cpuUsage();
  t = performance.now();
  const index = createCorrelationIndex({ kafka, groupId: `bench-replay-${run}`, topic, indexTopic, decoder: codec, fromBeginning: true, concurrency: PARTITIONS, metricsRegistry: new Registry() });
  await index.start();
  while (index.stats().recordsIn < written) await new Promise((r) => setTimeout(r, 200));
  indexSeconds = (performance.now() - t) / 1000;
  indexCpu = cpuMs(process.cpuUsage(cpu));
  await index.stop();
  const indexOffsets = await admin.fetchTopicOffsets(indexTopic);
  indexRecords = indexOffsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  say(`indexed in ${fmt(indexSeconds, 1)} s`);

  // 3. Finding one flow, three ways, time to the first replayed event.
  async function firstReplayed(id: string, rangesFor?: (id: string) => Promise<never>) {
    const start = performance.now();
    let first = 0;
    const s = await runReplay({
      kafka, codec, sourceTopic: topic, toTopic: `${topic}.replay`, selection: { correlationId: id }, speed: 'max',
      ...(rangesFor ? { rangesFor } : {}),
      onProgress: (p) => void (p.emitted === 1 && (first = performance.now() - start)),
    });
    return { ms: first, records: s.records_read, count: s.count };
  }

  async function fullScan(id: string) {
    const start = performance.now();
    const ranges = await wholeTopic(kafka, topic);
    const { scanRanges } = await import('../src/replay/index.js');
    let found = 0;
    let firstAt = 0;
    const key = Buffer.from(id);
    const records = await scanRanges(kafka, topic, ranges, (_p, m) => {
      if (m.key && m.key.equals(key) && found++ === 0) firstAt = performance.now() - start;
    });
    return { ms: performance.now() - start, firstMs: firstAt, records, count: found };
  }

  const picked = Array.from({ length: PICKS }, () => ids[Math.floor(Math.random() * flows)]!);
  for (const id of picked) {
    const lookup = new CorrelationLookup(kafka, indexTopic);
    const lt = performance.now();
    await lookup.flow(id);
    rows.lookup.push([performance.now() - lt, lookup.stats.recordsRead]);
    const viaIndex = new CorrelationLookup(kafka, indexTopic);
    const a = await firstReplayed(id, ((x: string) => viaIndex.rangesFor(x, topic)) as never);
    const b = await firstReplayed(id);
    const c = await fullScan(id);
    if (a.count !== FLOW || b.count !== FLOW || c.count !== FLOW) throw new Error(`flow ${id}: ${a.count}/${b.count}/${c.count} events, expected ${FLOW}`);
    rows.indexed.push([a.ms, a.records]);
    rows.hashed.push([b.ms, b.records]);
    rows.scan.push([c.ms, c.records, c.firstMs]);
  }
}
const med = (r: number[][], i: number) => median(r.map((x) => x[i]!));

// 4. Pacing: the long flow replayed at speeds (through the index); the floor is a plain send of its encoded events.
const out = `${topic}.paced`;
await ensureTopics(admin, [{ topic: out, partitions: 1 }]);

cpu = process.cpuUsage();
t = performance.now();
for (let i = 0; i < encoded.length; i += 500) await producer.send({ topic: out, acks: -1, messages: encoded.slice(i, i + 500).map((value) => ({ key: paced, value })) });
const floor = { ms: performance.now() - t, cpu: cpuMs(process.cpuUsage(cpu)) };

type Pacer = string;
const pacers: Array<[Pacer, PacerOptions]> = [
  ['timers only (baseline)', { earlyMs: 0 }],
  ['early 1 ms (default)', { earlyMs: 1 }],
];
const pacing = new Map<string, { speed: ReplaySpeed; pacer: Pacer | '-'; expected: number; elapsed: number[]; errors: number[]; p99s: number[]; loop: number[]; loopMax: number; cpu: number; records: number }>();
// A warm-up replay first (not counted): the first one pays for the JIT of the read, decode and emit paths.
await runReplay({ kafka, codec, sourceTopic: topic, toTopic: out, selection: { correlationId: paced }, speed: 10 });
for (let round = 0; round < ROUNDS; round++) {
  for (const speed of [10, 100, 'max'] as ReplaySpeed[]) {
    // Which pacer goes first rotates by round, so neither always gets the quieter moment.
    const order = speed === 'max' ? [pacers[0]!] : pacers.map((_, i) => pacers[(i + round) % pacers.length]!);
    for (const [pacer, options] of order) {
      const due = dueOffsets(times, speed);
      const key = `${speed} ${speed === 'max' ? '-' : pacer}`;
      const row = pacing.get(key) ?? { speed, pacer: speed === 'max' ? '-' : pacer, expected: due[due.length - 1]!, elapsed: [], errors: [], p99s: [], loop: [], loopMax: 0, cpu: 0, records: 0 };
      pacing.set(key, row);
      cpu = process.cpuUsage();
      const errors: number[] = [];
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      const s = await runReplay({
        kafka, codec, sourceTopic: topic, toTopic: out, selection: { correlationId: paced }, speed, pacer: options,
        ...(SCHEDULE_ONLY ? {} : { rangesFor: (x: string) => new CorrelationLookup(kafka, indexTopic).rangesFor(x, topic) }),
        onProgress: (p) => void errors.push(p.elapsedMs - due[p.emitted - 1]!),
      });
      delay.disable();
      row.loop.push(delay.percentile(99) / 1e6);
      row.loopMax = Math.max(row.loopMax, delay.max / 1e6);
      row.errors.push(...errors);
      row.p99s.push(pct(errors.map(Math.abs), 99));
      row.cpu += cpuMs(process.cpuUsage(cpu));
      row.elapsed.push(s.elapsed_ms);
      row.records = s.records_read;
    }
  }
}

await producer.disconnect();
await admin.deleteTopics({ topics: SCHEDULE_ONLY ? [topic, out] : [topic, indexTopic, `${topic}.replay`, out, `bench-replay-${run}-changelog`] }).catch(() => undefined);
await admin.disconnect();
await registryServer.close();
await broker?.stop();

const [l1, l5] = loadavg();
process.stdout.write(`${fmt(written)} events, ${fmt(flows)} flows of ${FLOW} (${fmt(CONCURRENT)} in flight at a time) and one of ${fmt(PACED)}, ${PARTITIONS} partitions; load average ${l1!.toFixed(1)} / ${l5!.toFixed(1)}\n\n`);
if (!SCHEDULE_ONLY) {
  process.stdout.write(`Indexing: ${fmt(written / indexSeconds)} events/s, ${fmt((indexCpu * 1000) / written, 1)} CPU µs/event (this process), ${fmt(indexRecords)} index records written\n\n`);
  process.stdout.write(`| finding one flow (median of ${PICKS}) | first replayed event | records read | vs full scan (time) |\n|---|---|---|---|\n`);
  const scanMs = med(rows.scan, 0);
  process.stdout.write(`| index lookup alone | ${fmt(med(rows.lookup, 0))} ms | ${fmt(med(rows.lookup, 1))} index records | |\n`);
  process.stdout.write(`| through the index (lookup + the flow's range) | ${fmt(med(rows.indexed, 0))} ms | ${fmt(med(rows.indexed, 1))} | ${fmt(scanMs / med(rows.indexed, 0), 1)}x faster |\n`);
  process.stdout.write(`| by the partitioner, no index (its partition) | ${fmt(med(rows.hashed, 0))} ms | ${fmt(med(rows.hashed, 1))} | ${fmt(scanMs / med(rows.hashed, 0), 1)}x faster |\n`);
  process.stdout.write(`| full topic scan, keys compared, no decode (baseline) | ${fmt(scanMs)} ms to the end (first match at ${fmt(med(rows.scan, 2))} ms) | ${fmt(med(rows.scan, 1))} | 1.0x |\n\n`);
}
process.stdout.write(`| replay of a ${fmt(PACED)}-event, 10 s flow${ROUNDS > 1 ? ` (${ROUNDS} rounds, errors pooled, median elapsed)` : ''} | pacer | expected | elapsed | |schedule error| p50 / p99 / max late, max early | p99 of each round | loop delay p99 of each round, max | events/s | CPU µs/event |\n|---|---|---|---|---|---|---|---|---|\n`);
process.stdout.write(`| plain kafkajs send of the encoded events (floor) | | | ${fmt(floor.ms)} ms | | | | ${fmt(PACED / (floor.ms / 1000))} | ${fmt((floor.cpu * 1000) / PACED, 1)} |\n`);
for (const r of pacing.values()) {
  const abs = r.errors.map(Math.abs);
  const error = r.speed === 'max' ? 'n/a (nothing waits)' : `${fmt(pct(abs, 50), 2)} / ${fmt(pct(abs, 99), 2)} / ${fmt(Math.max(...r.errors), 2)} late, ${fmt(Math.max(0, -Math.min(...r.errors)), 2)} early ms`;
  const elapsed = median(r.elapsed);
  const rounds = r.speed === 'max' ? '' : r.p99s.map((x) => fmt(x, 2)).join(', ');
  const loop = `${r.loop.map((x) => fmt(x, 1)).join(', ')}; ${fmt(r.loopMax, 1)} ms`;
  process.stdout.write(`| speed ${r.speed} | ${r.pacer} | ${fmt(r.expected)} ms | ${fmt(elapsed)} ms | ${error} | ${rounds} | ${loop} | ${fmt(PACED / (elapsed / 1000))} | ${fmt((r.cpu * 1000) / (PACED * r.elapsed.length), 1)} |\n`);
}
