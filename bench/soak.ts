/**
 * Soak: the producer, the worker and the alert processor at a steady rate for a long time, sampled every 10 s, to
 * show that memory is flat after warm-up (state bounded, caches bounded) and that nothing is lost.
 *
 * What runs, as in production (three processes):
 * - this process: a schema registry (in memory) and an OnexProducer emitting synthetic flows (onex dev's demo
 *   generator, 1.3.0) at SOAK_RATE events/s on a schedule;
 * - `onex worker` (child process) with no-op handlers, its /metrics on a port of its own;
 * - `onex alerts run` (child process) with the sample rule file (threshold, sequence with absence, absence, ratio,
 *   deprecated schema), its /metrics too when the CLI has --metrics-port.
 * Every SOAK_SAMPLE seconds, for each process: RSS (/proc), heap used and event-loop delay p99 (in-process for the
 * producer, from each child's /metrics), and the consumer lag of both groups (end offsets minus committed offsets,
 * asked from the broker). At the end: the producer stops, both groups drain, and the worker must have handled every
 * acknowledged event.
 *
 * Output: bench/soak/soak.csv and bench/soak/soak.png (plotted with matplotlib in the project's .venv, installed
 * once), and one JSON summary line on stdout: per process, the heap and RSS trend after warm-up in MB per 10 min.
 *
 *   npx tsx bench/soak.ts     (KAFKA_BROKERS, else a local broker in a temp dir; SOAK_MINUTES (30), SOAK_RATE
 *                              (2000), SOAK_SAMPLE (10 s), SOAK_WARMUP (5 min) override the defaults)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { SyntheticEvents, startEphemeralBroker } from '../src/dev/index.js';
import { nowTimestamp } from '../src/event/index.js';
import { createKafka, ensureTopics } from '../src/kafka/index.js';
import { OnexProducer } from '../src/producer/index.js';
import { createRegistryServer, MemoryStore } from '../src/registry/index.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const RATE = Number(process.env.SOAK_RATE ?? 2_000);
const SAMPLE_S = Number(process.env.SOAK_SAMPLE ?? 10);
const WARMUP_MIN = Number(process.env.SOAK_WARMUP ?? Math.min(5, MINUTES / 4));
const PARTITIONS = 6;
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(REPO, 'bench', 'soak');
const RULES = join(REPO, 'test', 'fixtures', 'alerts', 'rules.yaml');
const HANDLERS = join(REPO, 'test', 'fixtures', 'handlers', 'named.mjs');

const say = (line: string) => process.stderr.write(`[bench/soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Sums the samples of one metric family in a Prometheus text exposition (all label sets together). */
function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

async function scrape(port: number | undefined): Promise<string> {
  if (port === undefined) return '';
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3_000) });
    return res.ok ? await res.text() : '';
  } catch {
    return '';
  }
}

function cli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], {
    cwd: REPO,
    env: { ...process.env, ONEX_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-4_000)));
  child.on('exit', (code, signal) => {
    if (!stopping) say(`${args[0]} ${args[1] ?? ''} exited early (${code ?? signal}): ${tail}`);
  });
  return child;
}

function cliHas(command: string[], option: string): boolean {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...command, '--help'], { cwd: REPO, encoding: 'utf8' });
  return r.stdout.includes(option);
}

// ---- set up --------------------------------------------------------------------------------------------------
let stopping = false;
const broker = process.env.KAFKA_BROKERS ? undefined : await startEphemeralBroker({ prefix: 'onex-bench-soak-', onProgress: say });
const brokers = process.env.KAFKA_BROKERS ?? broker!.info.bootstrap;
const registryServer = createRegistryServer({ store: new MemoryStore() });
const registryUrl = await registryServer.listen(0, '127.0.0.1');
const kafka = createKafka({ brokers, clientId: 'bench-soak' });
const run = randomUUID().slice(0, 8);
const topic = `bench.soak.${run}`;
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [{ topic, partitions: PARTITIONS }, { topic: `${topic}.dlq`, partitions: 1 }, { topic: `${topic}.alerts`, partitions: 1 }]);
const workerGroup = `bench-soak-worker-${run}`;
const alertsGroup = `bench-soak-alerts-${run}`;
const env = { KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registryUrl };

const workerPort = await freePort();
const worker = cli(['worker', '--topic', topic, '--group', workerGroup, '--handlers', HANDLERS, '--from-beginning', '--metrics-port', String(workerPort)], env);
const alertsMetrics = cliHas(['alerts', 'run'], '--metrics-port');
const alertsPort = alertsMetrics ? await freePort() : undefined;
const alerts = cli(
  ['alerts', 'run', '--rules', RULES, '--topic', topic, '--group', alertsGroup, '--alerts-topic', `${topic}.alerts`, '--from-beginning', ...(alertsPort ? ['--metrics-port', String(alertsPort)] : [])],
  env,
);

const producer = new OnexProducer({ kafka: { brokers, clientId: 'bench-soak-producer' }, registry: registryUrl, topic, metricsRegistry: new Registry() });
await producer.start();
const synthetic = new SyntheticEvents({ versions: ['1.3.0'], seed: 7 });
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

say(`${MINUTES} min at ${RATE} events/s into ${topic} (${PARTITIONS} partitions) on ${brokers}; sampling every ${SAMPLE_S} s; alerts metrics ${alertsMetrics ? 'on' : 'not available (RSS only)'}`);

// ---- load: an absolute schedule, topped up every 20 ms ---------------------------------------------------------
let emitted = 0;
let acked = 0;
let failed = 0;
const started = Date.now();
const endAt = started + MINUTES * 60_000;
const load = setInterval(() => {
  const due = Math.min(Math.floor(((Date.now() - started) / 1000) * RATE), Math.floor(MINUTES * 60 * RATE));
  for (; emitted < due; emitted++) {
    const e = synthetic.next().event;
    producer.emit({ ...e, event_id: randomUUID(), timestamp: nowTimestamp() }).then(
      (r) => (r.status === 'sent' ? acked++ : undefined),
      () => failed++,
    );
  }
}, 20);

// ---- samples --------------------------------------------------------------------------------------------------
type Row = { t: number; process: string; rss: number | undefined; heap: number | undefined; loopP99: number | undefined; lag: number | undefined; count: number | undefined };
const rows: Row[] = [];

async function lagOf(group: string): Promise<number | undefined> {
  try {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
    const done = new Map(committed[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
    return ends.reduce((sum, p) => sum + Number(p.high) - Math.max(0, done.get(p.partition) ?? 0), 0);
  } catch {
    return undefined;
  }
}

async function sample(): Promise<void> {
  const t = Math.round((Date.now() - started) / 1000);
  const mem = process.memoryUsage();
  rows.push({ t, process: 'producer', rss: mem.rss / 2 ** 20, heap: mem.heapUsed / 2 ** 20, loopP99: loop.percentile(99) / 1e6, lag: undefined, count: acked });
  loop.reset();
  const [wText, aText, wLag, aLag] = await Promise.all([scrape(workerPort), scrape(alertsPort), lagOf(workerGroup), lagOf(alertsGroup)]);
  const fromMetrics = (text: string) => ({
    heap: text ? (metricSum(text, 'nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20 : undefined,
    loopP99: text ? (metricSum(text, 'nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000 : undefined,
  });
  rows.push({ t, process: 'worker', rss: rssMb(worker.pid!), ...fromMetrics(wText), lag: wLag, count: metricSum(wText, 'onex_worker_events_processed_total') });
  rows.push({ t, process: 'alerts', rss: rssMb(alerts.pid!), ...fromMetrics(aText), lag: aLag, count: metricSum(aText, 'onex_processor_records_in_total') });
  const last = rows.slice(-3);
  say(`t=${t}s emitted ${emitted} acked ${acked} failed ${failed} | ${last.map((r) => `${r.process} rss ${r.rss?.toFixed(0)} MB heap ${r.heap?.toFixed(0)} MB loop p99 ${r.loopP99?.toFixed(1)} ms lag ${r.lag ?? '-'}`).join(' | ')}`);
}

await sample();
const sampler = setInterval(() => void sample(), SAMPLE_S * 1000);
await new Promise<void>((done) => setTimeout(done, endAt - Date.now()));
clearInterval(load);
say('load stopped; flushing and draining both groups...');
await producer.flush();
const drainDeadline = Date.now() + 120_000;
let workerLag: number | undefined;
let alertsLag: number | undefined;
while (Date.now() < drainDeadline) {
  [workerLag, alertsLag] = await Promise.all([lagOf(workerGroup), lagOf(alertsGroup)]);
  if (workerLag === 0 && alertsLag === 0) break;
  await new Promise((r) => setTimeout(r, 1_000));
}
clearInterval(sampler);
await sample();
const handled = metricSum(await scrape(workerPort), 'onex_worker_events_processed_total');
stopping = true;
worker.kill('SIGTERM');
alerts.kill('SIGTERM');
await producer.close();
await admin.disconnect();
await registryServer.close();
await broker?.stop();

// ---- results --------------------------------------------------------------------------------------------------
mkdirSync(OUT, { recursive: true });
const csvPath = join(OUT, 'soak.csv');
const cell = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '' : String(Math.round(v * 100) / 100));
writeFileSync(csvPath, ['elapsed_s,process,rss_mb,heap_used_mb,eventloop_p99_ms,lag,count', ...rows.map((r) => [r.t, r.process, cell(r.rss), cell(r.heap), cell(r.loopP99), cell(r.lag), cell(r.count)].join(','))].join('\n') + '\n');

/** Least-squares slope of y over t (MB per 10 min), after warm-up. */
function trend(proc: string, key: 'rss' | 'heap'): { first: number; last: number; max: number; perTenMin: number } | undefined {
  const pts = rows.filter((r) => r.process === proc && r.t >= WARMUP_MIN * 60 && r[key] !== undefined && !Number.isNaN(r[key]!)).map((r) => [r.t, r[key]!] as const);
  if (pts.length < 3) return undefined;
  const n = pts.length;
  const mt = pts.reduce((s, [t]) => s + t, 0) / n;
  const my = pts.reduce((s, [, y]) => s + y, 0) / n;
  const slope = pts.reduce((s, [t, y]) => s + (t - mt) * (y - my), 0) / pts.reduce((s, [t]) => s + (t - mt) ** 2, 0);
  const round = (x: number) => Math.round(x * 10) / 10;
  return { first: round(pts[0]![1]), last: round(pts[n - 1]![1]), max: round(Math.max(...pts.map(([, y]) => y))), perTenMin: round(slope * 600) };
}

const summary = {
  minutes: MINUTES,
  rate: RATE,
  emitted,
  acked,
  failed,
  handled,
  nothing_lost: handled !== undefined && handled >= acked,
  drained: { worker_lag: workerLag, alerts_lag: alertsLag },
  warmup_minutes: WARMUP_MIN,
  trends_after_warmup: Object.fromEntries(['producer', 'worker', 'alerts'].map((p) => [p, { rss_mb: trend(p, 'rss'), heap_mb: trend(p, 'heap') }])),
  csv: 'bench/soak/soak.csv',
};
process.stdout.write(`${JSON.stringify(summary)}\n`);

// The plot: matplotlib in the project's .venv (made and filled once; later runs reuse it).
const venvPython = join(REPO, '.venv', 'bin', 'python');
if (!existsSync(venvPython)) spawnSync('python3', ['-m', 'venv', join(REPO, '.venv')], { stdio: 'inherit' });
if (spawnSync(venvPython, ['-c', 'import matplotlib'], { stdio: 'ignore' }).status !== 0) {
  say('installing matplotlib into .venv (once)...');
  spawnSync(venvPython, ['-m', 'pip', 'install', '--quiet', 'matplotlib==3.11.2'], { stdio: 'inherit' });
}
const plot = spawnSync(venvPython, [join(REPO, 'bench', 'soak-plot.py'), csvPath, join(OUT, 'soak.png'), String(WARMUP_MIN * 60)], { stdio: 'inherit' });
if (plot.status !== 0) say('the plot failed (the CSV is written)');
else say('plot: bench/soak/soak.png');
process.exit(summary.nothing_lost ? 0 : 1);
