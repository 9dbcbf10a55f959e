/**
 * What the CloudEvents binary-mode headers (ce_specversion, ce_id, ce_source, ce_type, ce_time, ce_subject,
 * ce_onexschemaversion, ce_traceparent, content-type) cost OnexProducer per event, in one run on one broker:
 *
 *   off  the onex.producer.cloudevents flag off: only the onex-* and traceparent headers (the baseline)
 *   on   the flag on (the default): the ce_* headers as well
 *
 * Each round emits N 1 KB 1.3.0 events (with correlation and trace ids, so every header is written) through a fresh
 * producer per mode; CPU (user + system) of the emit loop to the last acknowledgement, and the record bytes the
 * producer reports (value, key, headers). The two modes alternate inside every round so that a noisy neighbour hurts
 * both; medians over the rounds, and the ratio is the median of per-round ratios to `off`.
 *
 *   node --import tsx bench/cloudevents.ts   (KAFKA_BROKERS, else a local broker; BENCH_EVENTS, BENCH_ROUNDS;
 *   BENCH_LZ4=0 sends every batch uncompressed, to see how much of the cost is compressing the extra bytes)
 */
import { cpus, loadavg } from 'node:os';
import { InMemoryProvider } from '@openfeature/server-sdk';
import { Registry } from 'prom-client';
import { startEphemeralBroker } from '../src/dev/index.js';
import { FlagSet } from '../src/flags/index.js';
import { createKafka, ensureTopics } from '../src/kafka/index.js';
import { OnexProducer } from '../src/producer/index.js';
import { emitAll, makeEvents } from './support.js';
import { createRegistryServer, MemoryStore } from '../src/registry/index.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PARTITIONS = 3;
const LZ4 = process.env.BENCH_LZ4 !== '0';
const say = (line: string) => process.stderr.write(`[bench/cloudevents] ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Mode = 'off' | 'on';
const MODES: Mode[] = ['off', 'on'];

const broker = process.env.KAFKA_BROKERS ? undefined : await startEphemeralBroker({ prefix: 'onex-bench-cloudevents-', onProgress: say });
const brokers = process.env.KAFKA_BROKERS ?? broker!.info.bootstrap;
const registryServer = createRegistryServer({ store: new MemoryStore() });
const registryUrl = await registryServer.listen(0, '127.0.0.1');
const kafka = createKafka({ brokers, clientId: 'bench-cloudevents' });
const run = Date.now().toString(36);
const loadAtStart = loadavg().map((l) => l.toFixed(1)).join(' / ');

async function flagsFor(mode: Mode): Promise<FlagSet> {
  const set = new FlagSet({ domain: `bench-cloudevents-${mode}-${run}` });
  await set.useProvider(
    new InMemoryProvider({ 'onex.producer.cloudevents': { variants: { on: true, off: false }, defaultVariant: mode, disabled: false } }),
  );
  if (set.isEnabled('onex.producer.cloudevents', true) !== (mode === 'on')) throw new Error(`the flag did not take the value of mode ${mode}`);
  return set;
}

async function produceRound(topic: string, list: Array<Record<string, unknown>>, flags: FlagSet): Promise<{ cpuUs: number; bytes: number }> {
  const producer = new OnexProducer({ kafka: { brokers, clientId: 'bench-cloudevents' }, registry: registryUrl, topic, flags, metricsRegistry: new Registry(), sampling: { enabled: false }, compression: { enabled: LZ4 } });
  await producer.start();
  const cpu0 = process.cpuUsage();
  const bytes = await emitAll(producer, list, 10_000);
  const cpu = process.cpuUsage(cpu0);
  await producer.close();
  return { cpuUs: (cpu.user + cpu.system) / list.length, bytes: bytes / list.length };
}

const results: Record<Mode, { cpu: number[]; bytes: number[] }> = { off: { cpu: [], bytes: [] }, on: { cpu: [], bytes: [] } };

try {
  const admin = kafka.admin();
  await admin.connect();
  const topics = Array.from({ length: ROUNDS + 1 }, (_, r) => MODES.map((m) => `bench.cloudevents.${run}.${r}.${m}`)).flat();
  await ensureTopics(admin, topics.map((topic) => ({ topic, partitions: PARTITIONS })));
  await admin.disconnect();
  const flags = { off: await flagsFor('off'), on: await flagsFor('on') };
  const events = makeEvents(EVENTS, 12);
  // Round 0 warms the JIT and the codec's schema id and is not counted; the order of the modes flips every round.
  for (let round = 0; round <= ROUNDS; round++) {
    const order = round % 2 === 0 ? MODES : [...MODES].reverse();
    for (const mode of order) {
      const r = await produceRound(`bench.cloudevents.${run}.${round}.${mode}`, events, flags[mode]);
      if (round === 0) continue;
      results[mode].cpu.push(r.cpuUs);
      results[mode].bytes.push(r.bytes);
    }
    if (round > 0) say(`round ${round}: ${MODES.map((m) => `${m} ${results[m].cpu.at(-1)!.toFixed(1)} µs, ${results[m].bytes.at(-1)!.toFixed(0)} B`).join('; ')} (load ${loadavg()[0]!.toFixed(1)})`);
  }
  const ratio = median(results.on.cpu.map((x, i) => x / results.off.cpu[i]!));
  const added = median(results.on.cpu.map((x, i) => x - results.off.cpu[i]!));
  const bytesOff = median(results.off.bytes);
  const bytesOn = median(results.on.bytes);
  if (!(bytesOn > bytesOff)) throw new Error(`with the flag on the records are not larger (${bytesOn} vs ${bytesOff} bytes): the headers are missing`);
  const lines = [
    `${EVENTS} events of 1 KB (1.3.0, correlation and trace ids) per mode and round, ${ROUNDS} rounds, LZ4 ${LZ4 ? 'on (the default: batches over 10 KB)' : 'off'}, modes interleaved; CPU µs per event (process user + system, emit to last ack), medians; ratio and added µs = medians of per-round figures against flag off; record bytes = value + key + headers as the producer counts them; node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart} (start) and ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (end), broker ${brokers}`,
    '',
    '| onex.producer.cloudevents | producer µs/event | vs off | record bytes/event |',
    '|---|---|---|---|',
    `| off (baseline) | ${median(results.off.cpu).toFixed(1)} | 1.00x | ${bytesOff.toFixed(0)} |`,
    `| on (default) | ${median(results.on.cpu).toFixed(1)} | ${ratio.toFixed(2)}x (+${added.toFixed(1)} µs) | ${bytesOn.toFixed(0)} (+${(bytesOn - bytesOff).toFixed(0)}) |`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
} finally {
  await registryServer.close();
  await broker?.stop();
}
