/**
 * Producer acknowledgement latency at a fixed rate: OnexProducer beside a plain kafkajs producer in the same run, on
 * the same broker, with the same payload and the same rules. Both are idempotent, acks=all, one send() in flight
 * at a time, batches of up to PRODUCER_DEFAULTS.batch.maxEvents and a PRODUCER_DEFAULTS.batch.lingerMs linger; the
 * plain one sends the same Avro bytes (encoded by the same codec) with the same key, so the difference is what
 * OnexProducer does around kafkajs (validation, sampling, batching, the send loop). Latency is emit() -> its
 * acknowledgement, per event. No consumer runs: this is the producer's side only.
 *
 * Rounds alternate (plain, onex, plain, onex, ...) so that a noisy neighbour hurts both; one uncounted round of each
 * warms the JIT and the connections. Percentiles are over every event of the counted rounds; CPU µs/event is this
 * process's CPU time over the counted rounds over their events (the emitting loop included, the same for both).
 *
 *   npx tsx bench/producer-latency.ts   (KAFKA_BROKERS, else a local broker in a temp dir; BENCH_RATE (5000),
 *                                        BENCH_SECONDS per round (6), BENCH_ROUNDS (3), BENCH_PARTITIONS (4),
 *                                        BENCH_STAGES=1: where each ack's time goes, see bench/ack-stages.ts)
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { OnexEventCodec, registryFromUrl } from '../src/codec/index.js';
import { startEphemeralBroker } from '../src/dev/index.js';
import { createKafka, ensureTopics } from '../src/kafka/index.js';
import { OnexProducer, PRODUCER_DEFAULTS } from '../src/producer/index.js';
import { createRegistryServer, MemoryStore } from '../src/registry/index.js';
import { ackTemplates, offerAtRate, offerEvent } from './support.js';
import { GcWatch, installStages, offering, takeRows, type GcFigures } from './ack-stages.js';

const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 4);
const { lingerMs: LINGER, maxEvents: MAX_EVENTS } = PRODUCER_DEFAULTS.batch;
const STAGED = process.env.BENCH_STAGES === '1';
if (STAGED) installStages();

const say = (line: string) => process.stderr.write(`[bench/producer-latency] ${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const load = () => loadavg().map((l) => l.toFixed(1)).join(' / ');

type Kind = 'plain' | 'onex';
type Round = { burst: { events: number; ms: number }; acks: number[]; stages: number[][]; gc: GcFigures; failed: number; emitted: number; cpuMicros: number; seconds: number; sends: number; sendMs: number; loopP99: number; loopMax: number; stall: Stall };
/** The longest event-loop stall of a round: wall ms, and this process's CPU ms during it (GC and own code). */
type Stall = { ms: number; cpuMs: number };

const broker = process.env.KAFKA_BROKERS ? undefined : await startEphemeralBroker({ prefix: 'onex-bench-ack-', onProgress: say });
const brokers = process.env.KAFKA_BROKERS ?? broker!.info.bootstrap;
const registryServer = createRegistryServer({ store: new MemoryStore() });
const registryUrl = await registryServer.listen(0, '127.0.0.1');
const kafka: Kafka = createKafka({ brokers, clientId: 'bench-ack' });
const codec = new OnexEventCodec({ registry: registryFromUrl(registryUrl) });
await codec.prepare('1.3.0');
const templates = ackTemplates();
const loadAtStart = load();

async function newTopic(kind: Kind): Promise<string> {
  const topic = `bench.ack.${kind}.${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, partitions: PARTITIONS }]);
  await admin.disconnect();
  return topic;
}

/** Reads a histogram's sum and count off a registry (OnexProducer's send duration). */
async function histogram(registry: Registry, name: string): Promise<{ sum: number; count: number }> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  let sum = 0;
  let count = 0;
  for (const v of (m?.values ?? []) as Array<{ metricName?: string; value: number }>) {
    if (v.metricName === `${name}_sum`) sum += v.value;
    if (v.metricName === `${name}_count`) count += v.value;
  }
  return { sum, count };
}

async function round(kind: Kind, seconds: number): Promise<Round> {
  const topic = await newTopic(kind);
  const metrics = new Registry();
  const onex = kind === 'onex' ? new OnexProducer({ kafka, codec, topic, metricsRegistry: metrics }) : undefined;
  const plain = kind === 'plain' ? kafka.producer({ idempotent: true, maxInFlightRequests: 1 }) : undefined;
  await onex?.start();
  await plain?.connect();
  const total = Math.round(RATE * seconds);
  const acks: number[] = [];
  let emitted = 0;
  let failed = 0;
  let sends = 0;
  let sendMs = 0;
  // The plain producer batches as a linger-based producer does: what was emitted while a send was in flight (or
  // during the linger) goes out in the next send, up to MAX_EVENTS per send.
  let pending: Array<{ key: string; value: Buffer; at: number; queued: number }> = [];
  // The plain producer's stages, as bench/ack-stages.ts gives OnexProducer's: offered -> queued (encoded), queued ->
  // send start (its linger and the send in flight together), send start -> acked.
  const plainStages: number[][] = [];
  let inFlight = false;
  let oldest = 0;
  const sendPending = () => {
    const batch = pending.splice(0, MAX_EVENTS);
    inFlight = true;
    const t0 = performance.now();
    plain!
      .send({ topic, acks: -1, messages: batch.map(({ key, value }) => ({ key, value })) })
      .then(
        () => {
          const now = performance.now();
          sends++;
          sendMs += now - t0;
          for (const m of batch) acks.push(now - m.at);
          if (STAGED) for (const m of batch) plainStages.push([m.queued - m.at, NaN, t0 - m.queued, now - t0, now - m.at]);
        },
        () => void (failed += batch.length),
      )
      .finally(() => {
        inFlight = false;
        if (pending.length > 0) oldest = pending[0]!.at;
      });
  };
  // Event loop delay over the round: an ack cannot be seen while the loop is stalled (GC, CPU starvation), so where
  // the ack p99 is near the loop's own worst delays, the time goes to the machine, not to the producer.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  // Who stalled the loop: a gap between two 5 ms ticks with little CPU of ours in it was the machine (the process
  // waited for a core); a gap full of our CPU was our own work (GC, a long synchronous stretch).
  const stall: Stall = { ms: 0, cpuMs: 0 };
  let lastTick = performance.now();
  let lastCpu = process.cpuUsage();
  const watch = setInterval(() => {
    const now = performance.now();
    const c = process.cpuUsage();
    if (now - lastTick > stall.ms) Object.assign(stall, { ms: now - lastTick, cpuMs: (c.user - lastCpu.user + c.system - lastCpu.system) / 1000 });
    lastTick = now;
    lastCpu = c;
  }, 5);
  // The largest catch-up burst: after a stall, every event due meanwhile is emitted in one tick, synchronously, and
  // no acknowledgement is seen until the burst ends; its cost per event is what the emit path costs the caller.
  const burst = { events: 0, ms: 0 };
  let burstEvents = 0;
  let burstStart = 0;
  takeRows();
  const gc = new GcWatch();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await offerAtRate({
    rate: RATE,
    total,
    start,
    emit: (i, at) => {
      if (burstEvents === 0) burstStart = at;
      burstEvents++;
      if (STAGED) offering(at);
      offerEvent(onex, templates[i % templates.length]!, at, acks, () => failed++, (e) => {
        if (pending.length === 0) oldest = at;
        pending.push({ key: String(e.correlation_id ?? e.event_id), value: codec.encode(e, '1.3.0'), at, queued: performance.now() });
      });
      emitted++;
    },
    tick: (now) => {
      if (burstEvents > burst.events) Object.assign(burst, { events: burstEvents, ms: performance.now() - burstStart });
      burstEvents = 0;
      if (plain && pending.length > 0 && !inFlight && (now - oldest >= LINGER || pending.length >= MAX_EVENTS)) sendPending();
    },
    settled: () => pending.length === 0 && !inFlight && acks.length + failed >= total,
  });
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  clearInterval(watch);
  const gcs = gc.stop();
  const stages = onex ? takeRows() : plainStages;
  if (onex) {
    const h = await histogram(metrics, 'onex_producer_send_duration_seconds');
    sends = h.count;
    sendMs = h.sum * 1000;
  }
  await onex?.close();
  await plain?.disconnect();
  return { burst, acks, stages, gc: gcs, failed, emitted, cpuMicros: (cpu.user + cpu.system) / total, seconds: elapsed, sends, sendMs, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6, stall };
}

const q = (sorted: number[], x: number) => sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))] ?? NaN;

const STAGE_NAMES = ['offered->accepted', 'accepted->sealed (linger)', 'sealed->send start', 'send start->acked'];
/** Per stage: p50 / p99 over every event, and the mean over the slowest 1% (total at or above its p99). */
function stageStats(rows: number[][]): Array<{ p50: number; p99: number; tail: number }> {
  const totals = rows.map((r) => r[4]!).sort((a, b) => a - b);
  const cut = q(totals, 0.99);
  const tail = rows.filter((r) => r[4]! >= cut);
  return [0, 1, 2, 3, 4].map((i) => {
    const v = rows.map((r) => r[i]!).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    const t = tail.map((r) => r[i]!).filter((x) => !Number.isNaN(x));
    return { p50: q(v, 0.5), p99: q(v, 0.99), tail: t.reduce((a, b) => a + b, 0) / Math.max(1, t.length) };
  });
}
function stageLine(rows: number[][]): string {
  return stageStats(rows)
    .map((s, i) => `${STAGE_NAMES[i] ?? 'total'} p50 ${s.p50.toFixed(1)} p99 ${s.p99.toFixed(1)} tail ${s.tail.toFixed(1)}`)
    .join('; ');
}

/** Where the acks' time went, both producers (the plain one's linger and in-flight wait are one stage). */
function stageTable(counted: Record<Kind, Round[]>): string[] {
  const cell = (s: { p50: number; p99: number; tail: number }) => (Number.isNaN(s.p50) ? 'n/a (in the next column)' : `${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.tail.toFixed(1)}`);
  const line = (name: string, rounds: Round[]) => `| ${name} | ${stageStats(rounds.flatMap((x) => x.stages)).map(cell).join(' | ')} | ${rounds.reduce((n, x) => n + x.gc.count, 0)} / ${rounds.reduce((n, x) => n + x.gc.totalMs, 0).toFixed(0)} ms / ${Math.max(...rounds.map((x) => x.gc.maxMs)).toFixed(1)} ms (${rounds.reduce((n, x) => n + x.gc.major, 0)} full, ${rounds.reduce((n, x) => n + x.gc.majorMs, 0).toFixed(0)} ms) |`;
  return [
    'Where the time goes, ms: p50 / p99 over every event / mean over the slowest 1% of acks (bench/ack-stages.ts)',
    '',
    `| producer | ${STAGE_NAMES.join(' | ')} | total | GC pauses / sum / max |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    line('plain kafkajs', counted.plain),
    line('OnexProducer', counted.onex),
    '',
  ];
}

try {
  say(`broker ${brokers}; warm-up rounds`);
  await round('plain', 2);
  await round('onex', 2);
  const counted: Record<Kind, Round[]> = { plain: [], onex: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const kind of ['plain', 'onex'] as const) {
      const x = await round(kind, SECONDS);
      counted[kind].push(x);
      const s = [...x.acks].sort((a, b) => a - b);
      say(`round ${i + 1} ${kind}: p50 ${q(s, 0.5).toFixed(1)} ms, p99 ${q(s, 0.99).toFixed(1)} ms, max ${s.at(-1)?.toFixed(1)} ms, ${x.cpuMicros.toFixed(1)} µs CPU/event, ${x.sends} sends of ${(x.emitted / Math.max(1, x.sends)).toFixed(0)} events, ${(x.sendMs / Math.max(1, x.sends)).toFixed(1)} ms each, event loop delay p99 ${x.loopP99.toFixed(1)} ms max ${x.loopMax.toFixed(1)} ms, longest stall ${x.stall.ms.toFixed(0)} ms with ${x.stall.cpuMs.toFixed(0)} ms of our CPU, GC ${x.gc.count} pauses ${x.gc.totalMs.toFixed(0)} ms max ${x.gc.maxMs.toFixed(1)} ms (${x.gc.major} full, ${x.gc.majorMs.toFixed(0)} ms), largest burst ${x.burst.events} emits in ${x.burst.ms.toFixed(1)} ms, load ${loadavg()[0]!.toFixed(1)}`);
      if (STAGED) say(`  stages ${kind}: ${stageLine(x.stages)}`);
    }
  }
  const summary = (kind: Kind) => {
    const rounds = counted[kind];
    const all = rounds.flatMap((x) => x.acks).sort((a, b) => a - b);
    const events = rounds.reduce((n, x) => n + x.emitted, 0);
    const cpu = rounds.reduce((n, x) => n + x.cpuMicros * x.emitted, 0) / events;
    const sends = rounds.reduce((n, x) => n + x.sends, 0);
    const sendMs = rounds.reduce((n, x) => n + x.sendMs, 0);
    const failed = rounds.reduce((n, x) => n + x.failed, 0);
    const rate = events / rounds.reduce((n, x) => n + x.seconds, 0);
    const loopP99 = Math.max(...rounds.map((x) => x.loopP99));
    const loopMax = Math.max(...rounds.map((x) => x.loopMax));
    return { loopP99, loopMax, p50: q(all, 0.5), p99: q(all, 0.99), max: all.at(-1) ?? NaN, cpu, count: all.length, failed, rate, perSend: events / Math.max(1, sends), sendMs: sendMs / Math.max(1, sends) };
  };
  const plain = summary('plain');
  const onex = summary('onex');
  // Rounds are paired (each OnexProducer round right after a plain one): the median of the per-round p99 ratios
  // cancels most of the load drift between rounds, which pooled percentiles do not.
  const p99 = (x: Round) => q([...x.acks].sort((a, b) => a - b), 0.99);
  const ratios = counted.onex.map((o, i) => p99(o) / p99(counted.plain[i]!)).sort((a, b) => a - b);
  const pairedRatio = ratios[Math.floor(ratios.length / 2)]!;
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const row = (name: string, s: ReturnType<typeof summary>, base: ReturnType<typeof summary>) =>
    `| ${name} | ${fmt(s.rate)}/s | ${fmt(s.count)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} | ${(s.p99 / base.p99).toFixed(2)}x | ${s.cpu.toFixed(1)} | ${s.perSend.toFixed(0)} | ${ms(s.sendMs)} | ${ms(s.loopP99)} / ${ms(s.loopMax)} | ${s.failed} |`;
  process.stdout.write(
    [
      `Producer acknowledgement latency (emit -> ack), ~1 KB 1.3.0 events at ${fmt(RATE)}/s, ${ROUNDS} rounds of ${SECONDS} s each alternating, ${PARTITIONS} partitions; both idempotent, acks=all, one send in flight, linger ${LINGER} ms, up to ${MAX_EVENTS} events per send; node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart} (start) and ${load()} (end, 1/5/15 min), broker ${brokers}`,
      '',
      '| producer | rate | events | ack p50 | ack p99 | ack max | p99 vs plain | CPU µs/event | events/send | ms/send | loop delay p99 / max (worst round) | failed |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      row('plain kafkajs (same Avro bytes and keys, linger loop; baseline)', plain, plain),
      row('OnexProducer (strict validation, default options)', onex, plain),
      '',
      `OnexProducer ack p99 / plain ack p99: ${(onex.p99 / plain.p99).toFixed(2)}x pooled, ${pairedRatio.toFixed(2)}x median of the ${ROUNDS} paired rounds (${ratios.map((x) => x.toFixed(2)).join(', ')}); CPU ${(onex.cpu / plain.cpu).toFixed(2)}x`,
      '',
      ...(STAGED ? stageTable(counted) : []),
    ].join('\n'),
  );
} finally {
  await registryServer.close();
  await broker?.stop();
}
