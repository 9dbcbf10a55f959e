/**
 * What OpenTelemetry tracing costs the producer and the worker per event, in one run on one broker, three ways:
 *
 *   none      no SDK registered: the library's baseline (it depends on @opentelemetry/api only, and skips span
 *             creation while the global provider has no delegate)
 *   context   the Node SDK registered (AlwaysOffSampler) with its AsyncLocalStorage context manager in use, but the
 *             onex.telemetry.tracing flag off, so the pipeline makes no span: what registering an SDK costs the
 *             process before any span of ours (on Node 20 an active AsyncLocalStorage adds to every promise)
 *   drop-all  the Node SDK registered with AlwaysOffSampler: every span is asked for and sampled out
 *   record    the Node SDK with AlwaysOnSampler and a BatchSpanProcessor into an exporter that counts and discards
 *             (span creation, attributes, events, ending and batching are measured; the network is not)
 *
 * Each round emits N 1 KB 1.3.0 events through OnexProducer (CPU of the emit loop to the last acknowledgement) and
 * then reads them with a worker (decode, upcast to 2.0.0, strict validation, no-op handler; CPU from the first record
 * to the last). Every round runs inside a context.with(), so in every mode with an SDK the context manager is in use
 * (as in an application that makes spans of its own). The modes alternate inside every round so that a noisy neighbour hurts all of them; medians
 * over the rounds are reported, and each mode's ratio to `none` is the median of per-round ratios.
 *
 *   node --import tsx bench/tracing.ts   (KAFKA_BROKERS, else a local broker; BENCH_EVENTS, BENCH_ROUNDS)
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { context, createContextKey, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { InMemoryProvider } from '@openfeature/server-sdk';
import { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, NodeTracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import { Registry } from 'prom-client';
import { OnexEventCodec, registryFromUrl } from '../src/codec/index.js';
import { startEphemeralBroker } from '../src/dev/index.js';
import { flags } from '../src/flags/index.js';
import { createKafka, ensureTopics } from '../src/kafka/index.js';
import { OnexProducer } from '../src/producer/index.js';
import { consumeAll, emitAll, makeEvents } from './support.js';
import { createRegistryServer, MemoryStore } from '../src/registry/index.js';
import { activeRecordTrace } from '../src/telemetry/record-span.js';
import { activeSpanContext } from '../src/telemetry/trace-context.js';
import { activeTracer } from '../src/telemetry/tracer.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PARTITIONS = 3;
const say = (line: string) => process.stderr.write(`[bench/tracing] ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Mode = 'none' | 'context' | 'drop-all' | 'record';
const MODES: Mode[] = ['none', 'context', 'drop-all', 'record'];
const ROUND = createContextKey('bench round');

const broker = process.env.KAFKA_BROKERS ? undefined : await startEphemeralBroker({ prefix: 'onex-bench-tracing-', onProgress: say });
const brokers = process.env.KAFKA_BROKERS ?? broker!.info.bootstrap;
const registryServer = createRegistryServer({ store: new MemoryStore() });
const registryUrl = await registryServer.listen(0, '127.0.0.1');
const kafka = createKafka({ brokers, clientId: 'bench-tracing' });
const codec = new OnexEventCodec({ registry: registryFromUrl(registryUrl) });
const run = Date.now().toString(36);
const loadAtStart = loadavg().map((l) => l.toFixed(1)).join(' / ');

let exported = 0;
const countingExporter: SpanExporter = {
  export(spans, done) {
    exported += spans.length;
    done({ code: 0 });
  },
  shutdown: async () => undefined,
};

/** The onex.telemetry.tracing flag (the library follows its changes). */
async function tracingFlag(on: boolean): Promise<void> {
  await flags.useProvider(new InMemoryProvider({ 'onex.telemetry.tracing': { variants: { on: true, off: false }, defaultVariant: on ? 'on' : 'off', disabled: false } }));
}

/** Registers the SDK a mode asks for (and unregisters the last one); returns what shuts it down. */
async function useMode(mode: Mode): Promise<() => Promise<void>> {
  trace.disable();
  context.disable();
  propagation.disable();
  await tracingFlag(mode !== 'context');
  if (mode === 'none') return async () => undefined;
  const provider = new NodeTracerProvider({
    sampler: mode === 'record' ? new AlwaysOnSampler() : new AlwaysOffSampler(),
    spanProcessors: [new BatchSpanProcessor(countingExporter, { maxQueueSize: 65_536, maxExportBatchSize: 2_048, scheduledDelayMillis: 200 })],
  });
  provider.register();
  return () => provider.shutdown();
}

async function produceRound(topic: string, list: Array<Record<string, unknown>>): Promise<number> {
  const producer = new OnexProducer({ kafka: { brokers, clientId: 'bench-tracing' }, registry: registryUrl, topic, metricsRegistry: new Registry(), sampling: { enabled: false } });
  await producer.start();
  const cpu0 = process.cpuUsage();
  await emitAll(producer, list, 10_000);
  const cpu = process.cpuUsage(cpu0);
  await producer.close();
  return (cpu.user + cpu.system) / list.length;
}

async function consumeRound(topic: string): Promise<number> {
  return (await consumeAll({ kafka, decoder: codec, topic, group: `bench-tracing-${randomUUID()}`, events: EVENTS, partitions: PARTITIONS })).us;
}

type Row = { producer: number[]; worker: number[]; spans: number[] };
const results = Object.fromEntries(MODES.map((m) => [m, { producer: [], worker: [], spans: [] }])) as unknown as Record<Mode, Row>;

/**
 * What the no-SDK path adds per event, in a loop of calls: the producer asks for the tracer and the caller's span
 * context (to carry an application's context in the header), the worker for the tracer and the record's trace.
 */
function noSdkCalls(): { loop: number; producer: number; worker: number } {
  const n = 2_000_000;
  let sink = 0;
  const time = (f: () => void) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return ((performance.now() - t0) * 1000) / n;
  };
  const best = (f: () => void) => Math.min(...Array.from({ length: 5 }, () => time(f)));
  const loop = best(() => void sink++);
  const producer = best(() => void (activeTracer() === undefined && activeSpanContext() === undefined && sink++));
  const worker = best(() => void (activeTracer() === undefined && activeRecordTrace() === undefined && sink++));
  if (sink === 0) throw new Error('the no-SDK calls found an SDK');
  return { loop, producer, worker };
}

try {
  const admin = kafka.admin();
  await admin.connect();
  const topics = Array.from({ length: ROUNDS + 1 }, (_, r) => MODES.map((m) => `bench.tracing.${run}.${r}.${m}`)).flat();
  await ensureTopics(admin, topics.flatMap((t) => [{ topic: t, partitions: PARTITIONS }, { topic: `${t}.dlq`, partitions: 1 }]));
  await admin.disconnect();
  const events = makeEvents(EVENTS, 7);
  // Round 0 warms the JIT, the codec's schema ids and the SDK's code paths and is not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      const shutdown = await useMode(mode);
      const before = exported;
      const topic = `bench.tracing.${run}.${round}.${mode}`;
      const [p, w] = await context.with(ROOT_CONTEXT.setValue(ROUND, round), async (): Promise<[number, number]> => [await produceRound(topic, events), await consumeRound(topic)]);
      await shutdown();
      if (round === 0) continue;
      results[mode].producer.push(p);
      results[mode].worker.push(w);
      results[mode].spans.push(exported - before);
    }
    if (round > 0) say(`round ${round}: ${MODES.map((m) => `${m} ${results[m].producer.at(-1)!.toFixed(1)} / ${results[m].worker.at(-1)!.toFixed(1)} µs (${results[m].spans.at(-1)} spans)`).join(', ')} (load ${loadavg()[0]!.toFixed(1)})`);
  }
  await useMode('none');
  const calls = noSdkCalls();
  for (const m of MODES) {
    const spans = median(results[m].spans);
    if (m === 'record' && spans < 2 * EVENTS) throw new Error(`recording everything exported ${spans} spans for ${EVENTS} events: spans are missing`);
    if (m !== 'record' && spans !== 0) throw new Error(`${m} exported ${spans} spans`);
  }
  const ratio = (m: Mode, side: 'producer' | 'worker') => median(results[m][side].map((x, i) => x / results.none[side][i]!));
  const lines = [
    `${EVENTS} events of 1 KB (1.3.0 emitted, 2.0.0 handled) per mode and round, ${ROUNDS} rounds, modes interleaved; CPU µs per event (process user + system), medians; ratio = median of per-round ratios to no SDK; node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart} (start) and ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (end), broker ${brokers}`,
    '',
    '| tracing | producer µs/event | vs no SDK | worker µs/event | vs no SDK | spans per event |',
    '|---|---|---|---|---|---|',
    ...MODES.map((m) => {
      const label = { none: 'no SDK (baseline)', context: 'SDK registered, context manager in use, our spans off (flag)', 'drop-all': 'SDK, AlwaysOff sampler', record: 'SDK, everything recorded (batch processor, discarding exporter)' }[m];
      return `| ${label} | ${median(results[m].producer).toFixed(1)} | ${ratio(m, 'producer').toFixed(2)}x | ${median(results[m].worker).toFixed(1)} | ${ratio(m, 'worker').toFixed(2)}x | ${(median(results[m].spans) / EVENTS).toFixed(1)} |`;
    }),
    '',
    `Rounds (producer / worker µs): ${MODES.map((m) => `${m} ${results[m].producer.map((x, i) => `${x.toFixed(1)}/${results[m].worker[i]!.toFixed(1)}`).join(', ')}`).join('; ')}`,
    '',
    `No SDK, the tracing calls of one event in a loop (best of 5 x 2,000,000, loop overhead ${(calls.loop * 1000).toFixed(1)} ns subtracted): producer ${((calls.producer - calls.loop) * 1000).toFixed(1)} ns, worker ${((calls.worker - calls.loop) * 1000).toFixed(1)} ns per event`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
} finally {
  await registryServer.close();
  await broker?.stop();
}
