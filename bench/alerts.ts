/**
 * Alerting benchmark: 100 rules (a mix of every kind) on the processor runtime, against baselines measured in the
 * same run on the same broker and input:
 *
 * 1. Throughput: N events of ~1 KB written as 1.0.0 (the worker benchmark's generated stream, timestamps made
 *    increasing so the watermark moves as in production) on 4 partitions, read by
 *      - the plain worker: decode, upcast to 2.0.0, strict validation, a no-op handler (the baseline);
 *      - the processor runtime with a no-op definition (transactions, offsets in the transaction, no rules);
 *      - the alert processor with the 100 rules (windows in keyed state, changelog, ALERT events in the transaction).
 *    The clock runs from the first record handled to the N-th; CPU µs/event is the process's CPU time over that span.
 *    Rounds alternate (worker, runtime, alerts) and ratios are the median of per-round ratios.
 * 2. Event-to-alert latency at a steady RATE events/s: 2.0.0 events from a kafkajs producer (5 ms linger), one in
 *    50 a probe with a correlation id of its own that a `probe` rule (threshold 1, by correlation_id) turns into an
 *    ALERT_TRIGGERED at once; latency = probe sent -> its ALERT event read by a read_committed consumer. Baseline in
 *    the same run: the same load read by the plain worker, latency = probe sent -> handler. The load generator and the
 *    ALERT reader run in a child process (bench/alerts-load.ts, `node --import tsx`), so the consumer under test has
 *    this process and its event loop to itself, as in deployment (no processor generates its own load); times are
 *    epoch milliseconds from performance.timeOrigin + now(), one clock for both processes. Also timed: probe sent ->
 *    the definition's process() (before the commit), for the alert processor and for the runtime with a no-op
 *    definition, which splits the latency into what comes before a record is processed and what its transaction,
 *    the markers and the reader add. BENCH_LATENCY_ROUNDS rounds alternate the consumers; medians.
 *
 * BENCH_PARTS=throughput or =latency runs one part (=transactions: back-to-back transactions with the client's and the
 * runtime's retry, see benchTransactions); BENCH_KINDS=runtime,alerts limits the throughput consumers (the
 * plain worker always runs); BENCH_RUNTIME_BEFORE=<dir> adds another checkout's processor runtime (see below).
 *
 * Targets (issue): with 100 rules at least 0.5x the plain worker's events/s; event-to-alert p99 under 100 ms at 5,000/s.
 *
 *   npx tsx bench/alerts.ts     (KAFKA_BROKERS, else a local broker; BENCH_EVENTS, BENCH_ROUNDS, BENCH_RATE,
 *                                BENCH_SECONDS, BENCH_LATENCY_ROUNDS override the sizes; BENCH_BEFORE=<dir> adds
 *                                the alert engine of another checkout, see below)
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { hundredRules } from './alert-rules.js';
import { OnexEventCodec, registryFromUrl } from '../src/codec/index.js';
import { formatTimestamp } from '../src/event/index.js';
import { startEphemeralBroker } from '../src/dev/index.js';
import { createKafka, ensureTopics } from '../src/kafka/index.js';
import { alertRecords, createAlertEngine, loadRules } from '../src/processors/alerting/index.js';
import { createProcessor, type ProcessorDefinition } from '../src/processors/index.js';
import { TRANSACTION_RETRY } from '../src/processors/task.js';
import { createRegistryServer, MemoryStore } from '../src/registry/index.js';
import { createWorker } from '../src/worker/index.js';
import { generateEvent, rng } from '../test/fixtures/events/generate.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LATENCY_ROUNDS = Number(process.env.BENCH_LATENCY_ROUNDS ?? 1);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'throughput,latency').split(','));
const WARMUP_SECONDS = 2;
const PARTITIONS = 4;
const PROBE_EVERY = 50;
const DRAIN_SECONDS = 15;

const say = (line: string) => process.stderr.write(`[bench/alerts] ${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : Number.NaN);
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

const PROBE_RULE = stringify({ rules: [{ name: 'probe', kind: 'threshold', match: 'event.node_id == "probe"', by: ['correlation_id'], window: '1s', count: 1 }] });

const broker = process.env.KAFKA_BROKERS ? undefined : await startEphemeralBroker({ prefix: 'onex-bench-alerts-', onProgress: say });
const brokers = process.env.KAFKA_BROKERS ?? broker!.info.bootstrap;
const loadAtStart = loadavg().map((l) => l.toFixed(1)).join(' / ');
const registryServer = createRegistryServer({ store: new MemoryStore() });
const registryUrl = await registryServer.listen(0, '127.0.0.1');
const kafka: Kafka = createKafka({ brokers });
const codec = new OnexEventCodec({ registry: registryFromUrl(registryUrl) });
await codec.prepare('2.0.0');
const rules = loadRules(hundredRules()).rules;
const encode = (e: Record<string, unknown>) => codec.encode(e, '2.0.0');

async function topics(...names: Array<{ topic: string; partitions: number }>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, names);
  await admin.disconnect();
}

type Round = { rate: number; cpuMicros: number };
type Kind = 'worker' | 'runtime' | 'runtime-before' | 'before' | 'unfiltered' | 'alerts' | 'alerts-before';

/**
 * BENCH_BEFORE=<dir>: a checkout (src/ of another commit, e.g. `git archive <commit> src | tar -x -C <dir>` with
 * node_modules linked) whose alert engine runs as one more consumer of each round, for a before/after in one run.
 */
const BEFORE = process.env.BENCH_BEFORE;
const beforeEngine = BEFORE
  ? async (alertsTopic: string): Promise<ProcessorDefinition> => {
      const old = (await import(`${BEFORE}/src/processors/alerting/index.ts`)) as typeof import('../src/processors/alerting/index.js');
      return old.createAlertEngine(old.loadRules(hundredRules()).rules, { name: 'alerts', output: old.alertRecords(encode, alertsTopic) }) as unknown as ProcessorDefinition;
    }
  : undefined;
/**
 * BENCH_RUNTIME_BEFORE=<dir>: a checkout (src/, as for BENCH_BEFORE) whose processor runtime (createProcessor) runs
 * this checkout's engine, beside this one's, in the throughput rounds (no-op definition and 100 rules) and the latency
 * rounds: a before/after of the runtime in one run.
 */
const RUNTIME_BEFORE = process.env.BENCH_RUNTIME_BEFORE;
type CreateProcessor = typeof createProcessor;
const beforeRuntime: CreateProcessor | undefined = RUNTIME_BEFORE
  ? ((await import(`${RUNTIME_BEFORE}/src/processors/index.ts`)) as { createProcessor: CreateProcessor }).createProcessor
  : undefined;
const KINDS: Kind[] = (['worker', 'runtime', ...(RUNTIME_BEFORE ? (['runtime-before'] as const) : []), ...(BEFORE ? (['before'] as const) : []), 'unfiltered', 'alerts', ...(RUNTIME_BEFORE ? (['alerts-before'] as const) : [])] as Kind[])
  // BENCH_KINDS=worker,alerts: only these consumers in the throughput rounds (the plain worker always runs: ratios).
  .filter((k) => k === 'worker' || !process.env.BENCH_KINDS || process.env.BENCH_KINDS.split(',').includes(k));
const transitionsOf: Record<Kind, number> = { worker: 0, runtime: 0, 'runtime-before': 0, before: 0, unfiltered: 0, alerts: 0, 'alerts-before': 0 };

function clock(expect: number) {
  let first = 0;
  let firstCpu: NodeJS.CpuUsage | undefined;
  let n = 0;
  let resolve!: (round: Round) => void;
  const done = new Promise<Round>((r) => (resolve = r));
  return {
    done,
    tick() {
      if (n === 0) {
        first = performance.now();
        firstCpu = process.cpuUsage();
      }
      if (++n === expect) {
        const cpu = process.cpuUsage(firstCpu);
        resolve({ rate: (expect / (performance.now() - first)) * 1000, cpuMicros: (cpu.user + cpu.system) / expect });
      }
    },
  };
}

/** Wraps a definition so that every record it processes ticks the clock (timers do not). */
function counted(def: ProcessorDefinition, tick: () => void): ProcessorDefinition {
  return { ...def, process: (e, ctx) => (tick(), def.process(e, ctx)) };
}

const NOOP: ProcessorDefinition = { name: 'noop', process: () => undefined };

async function workerRound(topic: string, expect: number, onEvent?: (e: Record<string, unknown>) => void): Promise<{ round: Promise<Round>; stop: () => Promise<void> }> {
  const c = clock(expect);
  const w = createWorker({
    kafka, groupId: `bench-alerts-worker-${randomUUID()}`, topics: topic, decoder: codec, targetVersion: '2.0.0', fromBeginning: true,
    concurrency: PARTITIONS, metricsRegistry: new Registry(),
    handlers: { '*': (e) => (c.tick(), onEvent?.(e as unknown as Record<string, unknown>)) },
  });
  await w.start();
  return { round: c.done, stop: () => w.stop() };
}

async function processorRound(topic: string, expect: number, definition: ProcessorDefinition, tick: { intervalMs: number; idleAfterMs: number } | false = false, create: CreateProcessor = createProcessor) {
  const c = clock(expect);
  const proc = create({
    kafka, groupId: `bench-alerts-${definition.name}-${randomUUID()}`, topic, decoder: codec, fromBeginning: true, concurrency: PARTITIONS,
    metricsRegistry: new Registry(), tick, definition: counted(definition, c.tick),
  });
  await proc.start();
  return { round: c.done, stop: () => proc.stop() };
}

async function benchThroughput() {
  const topic = `bench.alerts.in.${randomUUID().slice(0, 8)}`;
  const alertsTopic = `bench.alerts.out.${randomUUID().slice(0, 8)}`;
  await topics({ topic, partitions: PARTITIONS }, { topic: `${topic}.dlq`, partitions: 1 }, { topic: alertsTopic, partitions: 1 });
  await codec.prepare('1.0.0');
  const r = rng(42);
  const base = Date.now() * 1000;
  const templates = Array.from({ length: 1000 }, () => generateEvent(r, '1.0.0', { targetBytes: 1024 }));
  const producer = kafka.producer();
  await producer.connect();
  say(`writing ${fmt(EVENTS)} events`);
  for (let i = 0; i < EVENTS; i += 1000) {
    const slice = Array.from({ length: Math.min(1000, EVENTS - i) }, (_, j): Record<string, unknown> => ({ ...templates[(i + j) % templates.length]!, event_id: randomUUID(), timestamp: formatTimestamp(base + (i + j) * 1000) }));
    await producer.send({ topic, messages: slice.map((e) => ({ key: String(e.node_id), value: codec.encode(e, '1.0.0') })) });
  }
  await producer.disconnect();
  let transitions = 0;
  const engine = (prefilter: boolean) => createAlertEngine(rules, { name: 'alerts', prefilter, output: alertRecords(encode, alertsTopic), onTransition: () => transitions++ });
  const run = async (kind: Kind) => {
    const h = kind === 'worker'
      ? await workerRound(topic, EVENTS)
      : await processorRound(
          topic, EVENTS,
          kind === 'runtime' || kind === 'runtime-before' ? NOOP : kind === 'before' ? await beforeEngine!(alertsTopic) : engine(kind !== 'unfiltered'),
          false, kind === 'runtime-before' || kind === 'alerts-before' ? beforeRuntime : createProcessor,
        );
    const round = await h.round;
    await h.stop();
    return round;
  };
  await run('worker');
  if (KINDS.includes('alerts')) await run('alerts');
  const rounds: Record<Kind, Round[]> = { worker: [], runtime: [], 'runtime-before': [], before: [], unfiltered: [], alerts: [], 'alerts-before': [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const k of KINDS) {
      transitionsOf[k] = transitions;
      rounds[k].push(await run(k));
      transitionsOf[k] = transitions - transitionsOf[k];
    }
    const s = (x: Round) => `${fmt(x.rate)}/s ${x.cpuMicros.toFixed(1)} µs CPU`;
    say(`round ${i + 1}: ${KINDS.map((k) => `${k} ${s(rounds[k].at(-1)!)}`).join(', ')} (load ${loadavg()[0]!.toFixed(1)})`);
  }
  const summary = (k: keyof typeof rounds) => ({
    rate: median(rounds[k].map((x) => x.rate)),
    cpu: median(rounds[k].map((x) => x.cpuMicros)),
    ratio: median(rounds[k].map((x, i) => x.rate / rounds.worker[i]!.rate)),
  });
  return {
    worker: summary('worker'), runtime: summary('runtime'), alerts: summary('alerts'), unfiltered: summary('unfiltered'),
    ...(beforeEngine ? { before: summary('before') } : {}),
    ...(beforeRuntime ? { runtimeBefore: summary('runtime-before'), alertsBefore: summary('alerts-before') } : {}),
    transitionsPerRound: transitionsOf.alerts,
  };
}

type Latency = { p50: number; p99: number; max: number; count: number; sent: number; achievedRate: number };

const now = () => performance.timeOrigin + performance.now();

/**
 * Runs bench/alerts-load.ts in a child process (`node --import tsx`): RATE events/s for SECONDS s to `topic`, and with
 * `alertsTopic` its read_committed reader of the ALERT events too. Resolves with what it printed.
 */
function loadInChild(topic: string, alertsTopic?: string): Promise<{ rate: number; sentAt: Record<string, number>; seen: Record<string, number> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./alerts-load.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env, KAFKA_BROKERS: brokers, REGISTRY_URL: registryUrl, TOPIC: topic, RATE: String(RATE), SECONDS: String(SECONDS),
      WARMUP: String(WARMUP_SECONDS), PROBE_EVERY: String(PROBE_EVERY), DRAIN: String(DRAIN_SECONDS), ...(alertsTopic ? { ALERTS_TOPIC: alertsTopic } : {}),
    },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1);
      if (code !== 0 || !line) reject(new Error(`bench/alerts-load.ts exited with ${code}`));
      else resolve(JSON.parse(line));
    });
  });
}

function latencyOf(seen: Map<string, number>, sentAt: Map<string, number>, achievedRate: number): Latency {
  const xs = [...seen].flatMap(([corr, at]) => (sentAt.has(corr) ? [at - sentAt.get(corr)!] : []));
  // A probe that never arrived (within the drain time) counts as infinitely late: p99 and max become Infinity when more
  // than 1% are missing, instead of a percentile over the lucky ones only.
  const missing = sentAt.size - xs.length;
  const all = [...xs, ...Array.from({ length: missing }, () => Number.POSITIVE_INFINITY)];
  return { p50: pct(all, 0.5), p99: pct(all, 0.99), max: Math.max(...all), count: xs.length, sent: sentAt.size, achievedRate };
}

type LatencyMode = 'worker' | 'runtime' | 'alerts' | 'alerts-before';
type LatencyRound = Latency & { cpuMicros: number; atProcess?: Latency };

/** Wraps a definition so that the first time it processes each probe is noted (before its transaction commits). */
function noting(def: ProcessorDefinition, at: Map<string, number>): ProcessorDefinition {
  return {
    ...def,
    process: (e, ctx) => {
      if (e.node_id === 'probe' && !at.has(String(e.correlation_id))) at.set(String(e.correlation_id), now());
      def.process(e, ctx);
    },
  };
}

/**
 * One latency round of a consumer: the plain worker (probe -> handler), the processor runtime with a no-op definition
 * (probe -> process(), no output), or the alert processor (probe -> its ALERT read committed, and probe -> process()).
 */
async function benchLatency(mode: LatencyMode): Promise<LatencyRound> {
  const topic = `bench.alerts.lat.${mode}.${randomUUID().slice(0, 8)}`;
  const alertsTopic = `${topic}.out`;
  await topics({ topic, partitions: PARTITIONS }, { topic: `${topic}.dlq`, partitions: 1 }, { topic: alertsTopic, partitions: 1 });
  const seen = new Map<string, number>();
  const processed = new Map<string, number>();
  let stop: () => Promise<void>;
  if (mode === 'worker') {
    const h = await workerRound(topic, Number.MAX_SAFE_INTEGER, (e) => e.node_id === 'probe' && seen.set(String(e.correlation_id), now()));
    stop = h.stop;
  } else if (mode === 'runtime') {
    const h = await processorRound(topic, Number.MAX_SAFE_INTEGER, noting(NOOP, seen), { intervalMs: 1_000, idleAfterMs: 2_000 });
    stop = h.stop;
  } else {
    const all = [...rules, ...loadRules(PROBE_RULE).rules];
    const engine = createAlertEngine(all, { name: 'alerts', output: alertRecords(encode, alertsTopic) });
    const h = await processorRound(topic, Number.MAX_SAFE_INTEGER, noting(engine, processed), { intervalMs: 1_000, idleAfterMs: 2_000 }, mode === 'alerts-before' ? beforeRuntime : undefined);
    stop = h.stop;
  }
  await new Promise((r) => setTimeout(r, 3_000)); // group joins before the load starts
  say(`${mode}: ${fmt(RATE)} events/s for ${SECONDS} s from a child process, a probe every ${PROBE_EVERY}`);
  const cpu0 = process.cpuUsage();
  const reads = mode === 'alerts' || mode === 'alerts-before';
  const child = await loadInChild(topic, reads ? alertsTopic : undefined);
  const cpu = process.cpuUsage(cpu0);
  const sentAt = new Map(Object.entries(child.sentAt));
  for (const [c, at] of Object.entries(child.seen)) seen.set(c, at);
  const until = Date.now() + DRAIN_SECONDS * 1000;
  while (seen.size < sentAt.size && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  await stop();
  // CPU of this process (the consumer under test) per event emitted, over the load and its drain in the child.
  return {
    ...latencyOf(seen, sentAt, child.rate),
    cpuMicros: (cpu.user + cpu.system) / (RATE * SECONDS),
    ...(reads ? { atProcess: latencyOf(processed, sentAt, child.rate) } : {}),
  };
}

type TxnRound = { mode: 'client retry' | 'runtime retry'; count: number; p50: number; p90: number; p99: number };

/**
 * BENCH_PARTS=transactions: back-to-back transactions (one record, commit) of one transactional producer for 5 s, with
 * the client's retry (first retry after 300 ms) and with the runtime's (TRANSACTION_RETRY), alternating, 2 rounds.
 */
async function benchTransactions(): Promise<TxnRound[]> {
  const topic = `bench.alerts.txn.${randomUUID().slice(0, 8)}`;
  await topics({ topic, partitions: 1 });
  const out: TxnRound[] = [];
  for (const mode of ['client retry', 'runtime retry', 'client retry', 'runtime retry'] as const) {
    const p = kafka.producer({ transactionalId: `bench-alerts-txn-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1, ...(mode === 'runtime retry' ? { retry: TRANSACTION_RETRY } : {}) });
    await p.connect();
    const xs: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < 5_000) {
      const s = performance.now();
      const txn = await p.transaction();
      await txn.send({ topic, messages: [{ value: 'x' }] });
      await txn.commit();
      xs.push(performance.now() - s);
    }
    await p.disconnect();
    out.push({ mode, count: xs.length, p50: pct(xs, 0.5), p90: pct(xs, 0.9), p99: pct(xs, 0.99) });
    say(`transactions, ${mode}: ${xs.length} in 5 s, p50 ${pct(xs, 0.5).toFixed(1)} p90 ${pct(xs, 0.9).toFixed(1)} p99 ${pct(xs, 0.99).toFixed(1)} ms (load ${loadavg()[0]!.toFixed(1)})`);
  }
  return out;
}

try {
  const txns = PARTS.has('transactions') ? await benchTransactions() : undefined;
  const t = PARTS.has('throughput') ? await benchThroughput() : undefined;
  // Latency rounds alternate the consumers (plain worker, alert processor, the runtime before if asked); medians.
  const modes: LatencyMode[] = ['worker', 'runtime', 'alerts', ...(beforeRuntime ? (['alerts-before'] as const) : [])];
  const lat: Record<LatencyMode, LatencyRound[]> = { worker: [], runtime: [], alerts: [], 'alerts-before': [] };
  if (PARTS.has('latency')) {
    for (let i = 0; i < LATENCY_ROUNDS; i++) {
      for (const m of modes) lat[m].push(await benchLatency(m));
      const ms1 = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)}` : 'inf');
      say(`latency round ${i + 1}: ${modes.map((m) => { const l = lat[m].at(-1)!; return `${m} p50 ${ms1(l.p50)} p99 ${ms1(l.p99)} ms (${l.count}/${l.sent}, ${l.cpuMicros.toFixed(1)} µs CPU/event${l.atProcess ? `; at process() p50 ${ms1(l.atProcess.p50)} p99 ${ms1(l.atProcess.p99)}` : ''})`; }).join(', ')} (load ${loadavg()[0]!.toFixed(1)})`);
    }
  }
  const medianOf = (xs: Array<Latency & { cpuMicros?: number }>): Latency & { cpuMicros: number } => ({
    p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)), max: median(xs.map((x) => x.max)), count: median(xs.map((x) => x.count)),
    sent: median(xs.map((x) => x.sent)), achievedRate: median(xs.map((x) => x.achievedRate)), cpuMicros: median(xs.map((x) => x.cpuMicros ?? Number.NaN)),
  });
  const latMedian = (m: LatencyMode) => medianOf(lat[m]);
  const atProcess = (m: LatencyMode) => medianOf(lat[m].map((x) => ({ ...x.atProcess!, cpuMicros: x.cpuMicros })));
  const load = loadavg().map((l) => l.toFixed(1)).join(' / ');
  const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'not arrived');
  const row = (name: string, s: { rate: number; cpu: number; ratio: number }, target = '') => `| ${name} | ${fmt(s.rate)} | ${s.ratio.toFixed(2)}x | ${s.cpu.toFixed(1)} | ${target} |`;
  const lrow = (name: string, l: Latency & { cpuMicros: number }, target = '') => `| ${name} | ${fmt(l.achievedRate)}/s | ${fmt(l.count)} of ${fmt(l.sent)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} | ${l.cpuMicros.toFixed(1)} | ${target} |`;
  const alerts = PARTS.has('latency') ? latMedian('alerts') : undefined;
  process.stdout.write(
    [
      ...(txns
        ? [
            'Back-to-back transactions of one transactional producer (one record each), 5 s per round:',
            '',
            '| retry | transactions | p50 | p90 | p99 |',
            '|---|---|---|---|---|',
            ...txns.map((x) => `| ${x.mode} | ${fmt(x.count)} | ${x.p50.toFixed(1)} ms | ${x.p90.toFixed(1)} ms | ${x.p99.toFixed(1)} ms |`),
            '',
          ]
        : []),
      ...(t
        ? [
            `Alerts: ${fmt(EVENTS)} events of ~1 KB (1.0.0, mixed types, increasing timestamps) per round, ${PARTITIONS} partitions, ${ROUNDS} rounds (medians; ratios are medians of per-round ratios); 100 rules, 20 of each kind, ${fmt(t.transitionsPerRound)} transitions per round; node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart} (start) and ${load} (end), broker ${brokers}`,
            '',
            '| consumer | events/s | vs plain worker | CPU µs/event | target |',
            '|---|---|---|---|---|',
            row('plain worker: decode, upcast 1.0.0 -> 2.0.0, strict validation, no-op handler (baseline)', t.worker),
            row('processor runtime, no-op definition (transactions, offsets in them)', t.runtime),
            ...(t.runtimeBefore ? [row(`processor runtime of ${RUNTIME_BEFORE} (before), no-op definition`, t.runtimeBefore)] : []),
            ...(t.before ? [row(`alert processor, 100 rules, engine of ${BEFORE} (before)`, t.before)] : []),
            row('alert processor, 100 rules, onex.alerts.prefilter off (every rule\'s CEL on every event)', t.unfiltered),
            ...(t.alertsBefore ? [row(`alert processor, 100 rules, on the runtime of ${RUNTIME_BEFORE} (before)`, t.alertsBefore)] : []),
            row('alert processor, 100 rules', t.alerts, `>= 0.5x ${t.alerts.ratio >= 0.5 ? 'met' : 'NOT met'}`),
            '',
          ]
        : []),
      ...(alerts
        ? [
            `Event-to-alert latency at ${fmt(RATE)} events/s for ${SECONDS} s (probes after the first ${WARMUP_SECONDS} s, one event in ${PROBE_EVERY}; a probe not arrived ${DRAIN_SECONDS} s after the load ends counts as infinitely late), ${LATENCY_ROUNDS} round(s), medians; the load generator (and the ALERT reader) in a child process, the consumer under test alone in this one (CPU µs per event emitted is this process's); load average ${loadAtStart} (start) and ${load} (end):`,
            '',
            '| path | rate | probes arrived | p50 | p99 | max | CPU µs/event | target |',
            '|---|---|---|---|---|---|---|---|',
            lrow('probe sent -> plain worker handler (baseline)', latMedian('worker')),
            lrow('probe sent -> process() of the processor runtime, no-op definition (before its commit)', latMedian('runtime')),
            lrow('probe sent -> process() of the alert processor (before its commit)', atProcess('alerts')),
            ...(beforeRuntime ? [lrow(`probe sent -> its ALERT_TRIGGERED read committed, runtime of ${RUNTIME_BEFORE} (before)`, latMedian('alerts-before'))] : []),
            lrow('probe sent -> its ALERT_TRIGGERED read committed (100 rules + probe rule)', alerts, `p99 < 100 ms ${alerts.p99 < 100 ? 'met' : 'NOT met'}`),
            '',
          ]
        : []),
    ].join('\n'),
  );
} finally {
  await registryServer.close();
  await broker?.stop();
}
