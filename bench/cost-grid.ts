/**
 * How the producer's cost grows with event size and partitions, on one broker and on a 3-node cluster, beside raw
 * kafkajs tuned alike and Kafka's Java ProducerPerformance tuned alike, all in the same run on the same brokers.
 *
 * Per cell (brokers x event size x partitions), on a new topic each:
 *   - OnexProducer, default options (strict validation, Avro through the registry, LZ4 from 10 KB, idempotent,
 *     acks=all, one send in flight, batches of up to 1,000 events / 1 MB, 5 ms linger);
 *   - raw kafkajs: the same Avro bytes and keys, encoded before the clock starts, sent in the same batches
 *     (<= 1,000 events and <= 1 MB a send, one send in flight), idempotent, acks=all, LZ4 from 10 KB;
 *   - Java ProducerPerformance: the same record size and count, acks=all, idempotence, batch.size 1,000,000,
 *     linger.ms 5, lz4 from 10 KB (its payload is random letters, not events); Kafka's default 5 requests in flight.
 * events/s from the first emit to the last acknowledgement; CPU µs/event is this process's CPU over the same span (for
 * Java: its CPU time minus that of a 1-record run, i.e. without JVM start-up).
 *
 * The worker side, per cell, reads the topic OnexProducer wrote (Avro, the ONEX and CloudEvents headers) from the
 * start, in a new consumer group each time, with 1 and with 2 consumer processes (bench/cost-grid-worker.ts, two kept
 * per cluster): the onex worker (default options, target version 1.3.0, a no-op handler) beside raw kafkajs eachBatch
 * decoding each value with the same codec. events/s from the first record any process read to the last; CPU µs/event
 * is the consumer processes' CPU over their own first-to-last span, summed, over the events.
 *
 * Every contender runs GRID_ROUNDS times per cell (default 3; Java once), alternating, each on a new topic or group;
 * the tables give medians, and the Onex / baseline ratio is the median of the paired rounds' ratios.
 *
 * Each cell writes at most GRID_MB MB and between GRID_MIN_EVENTS and GRID_MAX_EVENTS events, so a cell takes
 * seconds. Env: GRID_SIZES (bytes, default 100,1024,10240,102400,921600), GRID_PARTITIONS (1,3,6,12), GRID_CLUSTERS
 * (single,cluster3), GRID_MB (8), GRID_MIN_EVENTS (24), GRID_MAX_EVENTS (10000), GRID_ROUNDS (3), GRID_WORKERS (1,2),
 * GRID_SKIP_WORKERS=1, GRID_SKIP_JAVA=1, GRID_OUT (another directory for the tables, CSV and plot). A reduced grid in about a minute: GRID_SIZES=1024,102400 GRID_PARTITIONS=1,6
 * GRID_CLUSTERS=single GRID_MB=2 GRID_ROUNDS=1.
 * Output: markdown tables on stdout, bench/cost-grid/grid.csv and bench/cost-grid/grid.png.
 *
 *   npx tsx bench/cost-grid.ts
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import kafkajs, { type Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { OnexEventCodec, registryFromUrl } from '../src/codec/index.js';
import { nowTimestamp } from '../src/event/index.js';
import { resolveKafkaClasspath, startEphemeralBroker, startEphemeralCluster, SyntheticEvents } from '../src/dev/index.js';
import { createKafka, ensureTopics, registerLz4Codec } from '../src/kafka/index.js';
import { OnexProducer, PRODUCER_DEFAULTS } from '../src/producer/index.js';
import { createRegistryServer, MemoryStore } from '../src/registry/index.js';
import { ensureVenvRequirement } from '../test/support/python.js';
import { emitAll } from './support.js';
import { GridConsumers, type ConsumerMode } from './cost-grid-consumers.js';

const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
const SIZES = list('GRID_SIZES', '100,1024,10240,102400,921600').map(Number);
const PARTITIONS = list('GRID_PARTITIONS', '1,3,6,12').map(Number);
const CLUSTERS = list('GRID_CLUSTERS', 'single,cluster3') as Array<'single' | 'cluster3'>;
const BUDGET = Number(process.env.GRID_MB ?? 8) * 1_000_000;
const MIN_EVENTS = Number(process.env.GRID_MIN_EVENTS ?? 24);
const MAX_EVENTS = Number(process.env.GRID_MAX_EVENTS ?? 10_000);
const SKIP_JAVA = process.env.GRID_SKIP_JAVA === '1';
const ROUNDS = Number(process.env.GRID_ROUNDS ?? 3);
const WORKER_COUNTS = process.env.GRID_SKIP_WORKERS === '1' ? [] : list('GRID_WORKERS', '1,2').map(Number);
const { maxEvents: BATCH_EVENTS, maxBytes: BATCH_BYTES, lingerMs: LINGER } = PRODUCER_DEFAULTS.batch;
const LZ4_FROM = PRODUCER_DEFAULTS.compression.thresholdBytes;
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = process.env.GRID_OUT ? resolve(process.env.GRID_OUT) : join(REPO, 'bench', 'cost-grid');

const say = (line: string) => process.stderr.write(`[bench/cost-grid] ${line}\n`);
const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const load = () => loadavg().map((l) => l.toFixed(1)).join(' / ');

/** Producers, then the consumer side: `worker-1` is the onex worker in one process, `kafkajs-consumer-2` raw kafkajs in two. */
type Contender = 'onex' | 'kafkajs' | 'java' | `worker-${number}` | `kafkajs-consumer-${number}`;
/** One contender in one cell: medians over its rounds; `ratio` (Onex rows) the median of the paired rounds' ratios. */
interface Cell { cluster: string; size: number; partitions: number; contender: Contender; events: number; rounds: number; rate: number; mbps: number; cpuUs: number; ratio?: number }
type Measured = { rate: number; mbps: number; cpuUs: number };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function eventsFor(size: number): number {
  return Math.max(MIN_EVENTS, Math.min(MAX_EVENTS, Math.floor(BUDGET / size)));
}

/** Events of about `size` bytes of Avro: synthetic 1.3.0 events padded to the size (the padding is in metadata). */
function makeEvents(n: number, size: number, seed: number): Array<Record<string, unknown>> {
  const g = new SyntheticEvents({ versions: ['1.3.0'], sizeBytes: size, seed, failureRate: 0 });
  return Array.from({ length: n }, () => ({ ...g.next().event, event_id: randomUUID(), timestamp: nowTimestamp() }));
}

async function timed(n: number, work: () => Promise<number>): Promise<{ rate: number; mbps: number; cpuUs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const bytes = await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: n / seconds, mbps: bytes / seconds / 1e6, cpuUs: (cpu.user + cpu.system) / n };
}

async function onexCell(kafka: Kafka, codec: OnexEventCodec, topic: string, events: Array<Record<string, unknown>>) {
  const producer = new OnexProducer({ kafka, codec, topic, metricsRegistry: new Registry() });
  await producer.start();
  const m = await timed(events.length, () => emitAll(producer, events, 2_000));
  await producer.close();
  return m;
}

async function kafkajsCell(kafka: Kafka, codec: OnexEventCodec, topic: string, events: Array<Record<string, unknown>>) {
  const messages = events.map((e) => ({ key: String(e.correlation_id ?? e.event_id), value: codec.encode(e, '1.3.0') }));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const m = await timed(events.length, async () => {
    let bytes = 0;
    for (let i = 0; i < messages.length; ) {
      const batch: typeof messages = [];
      let batchBytes = 0;
      while (i < messages.length && batch.length < BATCH_EVENTS && (batch.length === 0 || batchBytes + messages[i]!.value.length <= BATCH_BYTES)) {
        batchBytes += messages[i]!.value.length + messages[i]!.key.length;
        batch.push(messages[i++]!);
      }
      const compression = batch[0]!.value.length >= LZ4_FROM ? kafkajs.CompressionTypes.LZ4 : kafkajs.CompressionTypes.None;
      await producer.send({ topic, acks: -1, compression, messages: batch });
      bytes += batchBytes;
    }
    return bytes;
  });
  await producer.disconnect();
  return m;
}

/** CPU seconds of a finished child, from its parent shell's cutime + cstime (clock ticks of 1/100 s). */
function javaRun(brokers: string, topic: string, n: number, size: number): Promise<{ rate: number; cpuS: number }> {
  const props = [`bootstrap.servers=${brokers}`, 'acks=all', 'enable.idempotence=true', `batch.size=${BATCH_BYTES}`, `linger.ms=${LINGER}`, `compression.type=${size >= LZ4_FROM ? 'lz4' : 'none'}`, 'max.request.size=1048576'];
  const java = ['java', '-Xmx512m', '-cp', resolveKafkaClasspath(), 'org.apache.kafka.tools.ProducerPerformance', '--topic', topic, '--num-records', String(n), '--record-size', String(size), '--throughput', '-1', '--producer-props', ...props];
  const quoted = java.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolveRun, reject) => {
    const child = spawn('sh', ['-c', `${quoted} 2>/dev/null; read -r s < /proc/$$/stat; echo "STAT $s"`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () => {
      const summary = out.split('\n').filter((l) => l.includes('records sent')).pop() ?? '';
      const m = /([\d.]+) records\/sec/.exec(summary);
      const stat = /STAT (.*)/.exec(out)?.[1]?.replace(/^.*\) /, '').split(' ');
      if (!m || !stat) return reject(new Error(`ProducerPerformance printed no summary: ${out.slice(-300)}`));
      // Fields after "(comm) ": state is index 0, so cutime and cstime (fields 16 and 17 of stat) are 13 and 14.
      resolveRun({ rate: Number(m[1]), cpuS: (Number(stat[13]) + Number(stat[14])) / 100 });
    });
  });
}

const cells: Cell[] = [];
const loadAtStart = load();
registerLz4Codec();
const registryServer = createRegistryServer({ store: new MemoryStore() });
const registryUrl = await registryServer.listen(0, '127.0.0.1');
try {
  for (const cluster of CLUSTERS) {
    say(`starting ${cluster === 'single' ? 'one broker' : 'a 3-node cluster'}`);
    const started = cluster === 'single'
      ? await startEphemeralBroker({ prefix: 'onex-bench-grid-', heapMb: 768, onProgress: say })
      : await startEphemeralCluster({ prefix: 'onex-bench-grid-', nodes: 3, heapMb: 512, onProgress: say });
    const brokers = started.info.bootstrap;
    const kafka = createKafka({ brokers, clientId: 'bench-grid' });
    const codec = new OnexEventCodec({ registry: registryFromUrl(registryUrl) });
    await codec.prepare('1.3.0');
    const admin = kafka.admin();
    await admin.connect();
    let consumers: GridConsumers | undefined;
    const topic = async (name: string, partitions: number) => {
      const t = `bench.grid.${name}.${randomUUID().slice(0, 8)}`;
      await ensureTopics(admin, [{ topic: t, partitions }]);
      return t;
    };
    try {
      let javaStartCpu = 0;
      if (!SKIP_JAVA) javaStartCpu = (await javaRun(brokers, await topic('java-start', 1), 1, 100)).cpuS;
      // Warm-up, not counted: JIT, connections, the codec's schema id.
      const warm = makeEvents(2_000, 1024, 1);
      const warmTopic = await topic('warm', 3);
      await onexCell(kafka, codec, warmTopic, warm);
      await kafkajsCell(kafka, codec, await topic('warm', 3), warm);
      if (WORKER_COUNTS.length > 0) {
        consumers = await GridConsumers.start(brokers, registryUrl, Math.max(...WORKER_COUNTS));
        for (const mode of ['kafkajs', 'onex'] as const) await consumers.consume(mode, warmTopic, 3, Math.max(...WORKER_COUNTS), warm.length);
      }
      for (const size of SIZES) {
        const n = eventsFor(size);
        const events = makeEvents(n, size, size);
        for (const partitions of PARTITIONS) {
          const add = (contender: Contender, rounds: Measured[], base?: Measured[]) =>
            cells.push({
              cluster, size, partitions, contender, events: n, rounds: rounds.length,
              rate: median(rounds.map((m) => m.rate)), mbps: median(rounds.map((m) => m.mbps)), cpuUs: median(rounds.map((m) => m.cpuUs)),
              ...(base ? { ratio: median(rounds.map((m, i) => m.rate / base[i]!.rate)) } : {}),
            });
          const onex: Measured[] = [];
          const raw: Measured[] = [];
          let input = '';
          for (let r = 0; r < ROUNDS; r++) {
            const t = await topic('onex', partitions);
            input ||= t;
            onex.push(await onexCell(kafka, codec, t, events));
            raw.push(await kafkajsCell(kafka, codec, await topic('kafkajs', partitions), events));
          }
          add('onex', onex, raw);
          add('kafkajs', raw);
          const o = cells.at(-2)!;
          const k = cells.at(-1)!;
          let line = `${cluster} ${size} B x ${partitions} partitions (${n} events, ${ROUNDS} rounds): onex ${fmt(o.rate)}/s ${o.cpuUs.toFixed(0)} µs, kafkajs ${fmt(k.rate)}/s ${k.cpuUs.toFixed(0)} µs`;
          if (!SKIP_JAVA) {
            const j = await javaRun(brokers, await topic('java', partitions), n, size);
            add('java', [{ rate: j.rate, mbps: (j.rate * size) / 1e6, cpuUs: Math.max(0, j.cpuS - javaStartCpu) * 1e6 / n }]);
            line += `, java ${fmt(j.rate)}/s`;
          }
          say(`${line} (load ${loadavg()[0]!.toFixed(1)})`);
          // The consumer side reads what OnexProducer wrote in its first round.
          for (const processes of WORKER_COUNTS) {
            const byMode: Record<ConsumerMode, Measured[]> = { onex: [], kafkajs: [] };
            for (let r = 0; r < ROUNDS; r++) {
              for (const mode of ['kafkajs', 'onex'] as const) {
                const m = await consumers!.consume(mode, input, partitions, processes, n);
                byMode[mode].push({ rate: m.rate, mbps: (m.rate * size) / 1e6, cpuUs: m.cpuUs });
              }
            }
            add(`worker-${processes}`, byMode.onex, byMode.kafkajs);
            add(`kafkajs-consumer-${processes}`, byMode.kafkajs);
            const w = cells.at(-2)!;
            const c = cells.at(-1)!;
            say(`  consumers x${processes}: onex worker ${fmt(w.rate)}/s ${w.cpuUs.toFixed(0)} µs, raw kafkajs ${fmt(c.rate)}/s ${c.cpuUs.toFixed(0)} µs (${w.ratio!.toFixed(2)}x; load ${loadavg()[0]!.toFixed(1)})`);
          }
        }
      }
    } finally {
      await consumers?.close();
      await admin.disconnect();
      await started.stop();
    }
  }
} finally {
  await registryServer.close();
}

// ---- output: tables, CSV, plot ----
const find = (c: Pick<Cell, 'cluster' | 'size' | 'partitions'>, who: Contender) =>
  cells.find((x) => x.cluster === c.cluster && x.size === c.size && x.partitions === c.partitions && x.contender === who);
const clusterName = (cluster: string) => (cluster === 'single' ? 'one broker (replication 1)' : '3-node cluster (replication 3, min ISR 2)');
const lines: string[] = [
  `Cost grid: node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart} (start) and ${load()} (end); per cell up to ${BUDGET / 1e6} MB, ${MIN_EVENTS}-${MAX_EVENTS} events; ${ROUNDS} round(s) per contender and cell (Java one), medians; the Onex / baseline ratios are medians of the paired rounds' ratios.`,
  '',
];
for (const cluster of CLUSTERS) {
  lines.push(`### Producers, ${clusterName(cluster)}`, '');
  lines.push('| event size | partitions | events | OnexProducer events/s | MB/s | CPU µs/event | raw kafkajs events/s | CPU µs/event | Onex / kafkajs | Java events/s | Java CPU µs/event | Onex / Java |');
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const size of SIZES) {
    for (const partitions of PARTITIONS) {
      const o = find({ cluster, size, partitions }, 'onex');
      const k = find({ cluster, size, partitions }, 'kafkajs');
      const j = find({ cluster, size, partitions }, 'java');
      if (!o || !k) continue;
      lines.push(`| ${fmt(size)} B | ${partitions} | ${fmt(o.events)} | ${fmt(o.rate)} | ${o.mbps.toFixed(1)} | ${o.cpuUs.toFixed(0)} | ${fmt(k.rate)} | ${k.cpuUs.toFixed(0)} | ${o.ratio!.toFixed(2)}x | ${j ? fmt(j.rate) : 'n/a'} | ${j ? j.cpuUs.toFixed(0) : 'n/a'} | ${j ? `${(o.rate / j.rate).toFixed(2)}x` : 'n/a'} |`);
    }
  }
  lines.push('');
  if (WORKER_COUNTS.length === 0) continue;
  lines.push(`### Consumers, ${clusterName(cluster)}: onex worker beside raw kafkajs eachBatch + the same decode, by consumer processes`, '');
  lines.push(`| event size | partitions | events | ${WORKER_COUNTS.map((w) => `onex worker x${w} events/s | CPU µs/event | raw kafkajs x${w} events/s | CPU µs/event | worker / kafkajs`).join(' | ')} |`);
  lines.push(`|---:|---:|---:|${WORKER_COUNTS.map(() => '---:|---:|---:|---:|---:|').join('')}`);
  for (const size of SIZES) {
    for (const partitions of PARTITIONS) {
      const cols = WORKER_COUNTS.map((w) => {
        const o = find({ cluster, size, partitions }, `worker-${w}`);
        const k = find({ cluster, size, partitions }, `kafkajs-consumer-${w}`);
        return o && k ? `${fmt(o.rate)} | ${o.cpuUs.toFixed(0)} | ${fmt(k.rate)} | ${k.cpuUs.toFixed(0)} | ${o.ratio!.toFixed(2)}x` : 'n/a | n/a | n/a | n/a | n/a';
      });
      const any = find({ cluster, size, partitions }, 'onex');
      if (any) lines.push(`| ${fmt(size)} B | ${partitions} | ${fmt(any.events)} | ${cols.join(' | ')} |`);
    }
  }
  lines.push('');
}
const summary = (who: Contender, base: string) => {
  const ratios = cells.filter((c) => c.contender === who).map((c) => c.ratio!).sort((a, b) => a - b);
  if (ratios.length) lines.push(`${who === 'onex' ? 'OnexProducer' : `onex worker x${who.slice('worker-'.length)}`} / ${base} over ${ratios.length} cells: median ${median(ratios).toFixed(2)}x, range ${ratios[0]!.toFixed(2)}x-${ratios.at(-1)!.toFixed(2)}x`, '');
};
summary('onex', 'raw kafkajs');
for (const w of WORKER_COUNTS) summary(`worker-${w}`, `raw kafkajs x${w}`);
process.stdout.write(`${lines.join('\n')}\n`);

mkdirSync(OUT, { recursive: true });
const csv = join(OUT, 'grid.csv');
writeFileSync(csv, ['cluster,size_bytes,partitions,contender,events,rounds,events_per_s,mb_per_s,cpu_us_per_event,ratio_to_baseline', ...cells.map((c) => [c.cluster, c.size, c.partitions, c.contender, c.events, c.rounds, c.rate.toFixed(1), c.mbps.toFixed(2), c.cpuUs.toFixed(1), c.ratio === undefined ? '' : c.ratio.toFixed(3)].join(','))].join('\n') + '\n');
writeFileSync(join(OUT, 'grid.md'), `${lines.join('\n')}\n`);
try {
  const python = await ensureVenvRequirement('matplotlib==3.11.2');
  const plot = spawnSync(python, [join(REPO, 'bench', 'cost-grid-plot.py'), csv, join(OUT, 'grid.png')], { stdio: 'inherit' });
  say(plot.status === 0 ? `plot: ${join(OUT, 'grid.png')}` : 'the plot failed (the CSV is written)');
} catch (err) {
  say(`no plot: ${(err as Error).message}`);
}

