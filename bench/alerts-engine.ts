/**
 * The alert engine without a broker: the 100 rules of bench/alerts.ts over the same kind of stream (1 KB events
 * written as 1.0.0, upcast to 2.0.0 by the codec, 1 ms apart in event time, split over 4 partitions by node_id), run
 * on the processor runtime's own partition state in batches the size a Kafka fetch gives (BENCH_BATCH, default 250),
 * each batch ending as a transaction would: the definition's endBatch, its output taken and the changelog records
 * of the batch serialised (what task.ts sends), then settled. Reports CPU µs per event, events/s, and changelog
 * records and bytes per input event: the part of bench/alerts.ts's cost the engine and its state decide.
 *
 * BENCH_BEFORE=<dir> (the src/ of another commit, node_modules linked) runs that commit's engine and runtime in
 * alternating rounds, and the two must produce the same transitions (checked: the bench fails otherwise).
 *
 *   npx tsx bench/alerts-engine.ts   (BENCH_EVENTS default 20,000; BENCH_ROUNDS default 5; BENCH_BATCH default 250)
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { OnexEventCodec, registryFromUrl } from '../src/codec/index.js';
import { formatTimestamp } from '../src/event/index.js';
import { createRegistryServer, MemoryStore } from '../src/registry/index.js';
import { generateEvent, rng } from '../test/fixtures/events/generate.js';
import { hundredRules } from './alert-rules.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = Number(process.env.BENCH_BATCH ?? 250);
const PARTITIONS = 4;
const BEFORE = process.env.BENCH_BEFORE;

const say = (line: string) => process.stderr.write(`[bench/alerts-engine] ${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Alerting = typeof import('../src/processors/alerting/index.js');
type State = typeof import('../src/processors/partition-state.js');
type Runner = typeof import('../src/processors/partition-runner.js');
type Changelog = typeof import('../src/processors/changelog.js');
interface Side { name: string; alerting: Alerting; state: State; runner: Runner; changelog: Changelog }

async function side(name: string, root: string): Promise<Side> {
  const ext = root === '..' ? 'js' : 'ts';
  const at = (p: string) => (root === '..' ? `../src/${p}.${ext}` : `${root}/src/${p}.${ext}`);
  return {
    name,
    alerting: (await import(at('processors/alerting/index'))) as Alerting,
    state: (await import(at('processors/partition-state'))) as State,
    runner: (await import(at('processors/partition-runner'))) as Runner,
    changelog: (await import(at('processors/changelog'))) as Changelog,
  };
}

/** The stream, decoded once: [event, partition] pairs, 2.0.0 as the processor's decoder gives them. */
async function stream(): Promise<Array<{ event: Record<string, unknown>; partition: number }>> {
  const server = createRegistryServer({ store: new MemoryStore() });
  const url = await server.listen(0, '127.0.0.1');
  try {
    const codec = new OnexEventCodec({ registry: registryFromUrl(url) });
    await codec.prepare('1.0.0');
    await codec.prepare('2.0.0');
    const r = rng(42);
    const base = Date.now() * 1000;
    const templates = Array.from({ length: 1000 }, () => generateEvent(r, '1.0.0', { targetBytes: 1024 }));
    const out: Array<{ event: Record<string, unknown>; partition: number }> = [];
    for (let i = 0; i < EVENTS; i++) {
      const e: Record<string, unknown> = { ...templates[i % templates.length]!, event_id: `e${i}`, timestamp: formatTimestamp(base + i * 1000) };
      const { event } = await codec.decode<Record<string, unknown>>(codec.encode(e, '1.0.0'), '2.0.0');
      let h = 0;
      for (const ch of String(e.node_id)) h = (h * 31 + ch.charCodeAt(0)) | 0;
      out.push({ event, partition: Math.abs(h) % PARTITIONS });
    }
    return out;
  } finally {
    await server.close();
  }
}

interface Result { cpuMicros: number; rate: number; records: number; bytes: number; transitions: string[] }

function run(s: Side, events: Array<{ event: Record<string, unknown>; partition: number }>): Result {
  const transitions: string[] = [];
  const rules = s.alerting.loadRules(hundredRules()).rules;
  const def = s.alerting.createAlertEngine(rules, { onTransition: (t) => transitions.push(`${t.partition} ${t.rule} ${JSON.stringify(t.key)} ${t.state} ${t.at}`) });
  const parts = Array.from({ length: PARTITIONS }, (_, p) => {
    const state = new s.state.PartitionState({ allowedLatenessMs: 5_000, stores: def.stores ?? {} });
    const runner = new s.runner.PartitionRunner(state, def, { topic: 'bench', partition: p, late: 'drop' });
    return { state, runner, queue: [] as Record<string, unknown>[] };
  });
  let records = 0;
  let bytes = 0;
  let offset = 0;
  const flush = (p: (typeof parts)[number]) => {
    for (const e of p.queue) p.runner.process(e as never, { offset: String(offset++), writerVersion: '1.0.0' });
    p.queue = [];
    p.runner.endBatch();
    p.runner.takeOutput();
    for (const c of p.state.pendingChanges()) {
      const m = s.changelog.changelogMessage(c, 0);
      records++;
      bytes += String(m.key).length + (m.value === null ? 0 : String(m.value).length);
    }
    p.state.settle();
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const { event, partition } of events) {
    const p = parts[partition]!;
    p.queue.push(event);
    if (p.queue.length >= BATCH) flush(p);
  }
  for (const p of parts) flush(p);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuMicros: (cpu.user + cpu.system) / events.length, rate: (events.length / ms) * 1000, records: records / events.length, bytes: bytes / events.length, transitions };
}

const sides = [await side('now', '..'), ...(BEFORE ? [await side('before', BEFORE)] : [])];
const events = await stream();
say(`${fmt(EVENTS)} events, batches of ${BATCH}, ${PARTITIONS} partitions, ${ROUNDS} rounds, sides: ${sides.map((x) => x.name).join(', ')}`);
for (const s of sides) run(s, events.slice(0, 2_000)); // warm-up
const results = new Map<string, Result[]>(sides.map((s) => [s.name, []]));
for (let i = 0; i < ROUNDS; i++) {
  for (const s of [...sides].reverse()) {
    const r = run(s, events);
    results.get(s.name)!.push(r);
    say(`round ${i + 1} ${s.name}: ${fmt(r.rate)}/s, ${r.cpuMicros.toFixed(1)} µs CPU/event, ${r.records.toFixed(2)} changelog records/event, ${fmt(r.bytes)} B/event, ${r.transitions.length} transitions`);
  }
}
if (BEFORE) {
  const a = results.get('now')![0]!.transitions;
  const b = results.get('before')![0]!.transitions;
  const same = a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same) {
    const missing = b.filter((x) => !a.includes(x)).slice(0, 5);
    const extra = a.filter((x) => !b.includes(x)).slice(0, 5);
    say(`TRANSITIONS DIFFER: now ${a.length}, before ${b.length}; missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}`);
    process.exitCode = 1;
  } else say(`transitions identical (${a.length})`);
}
const line = (name: string) => {
  const rs = results.get(name)!;
  return `| ${name} | ${fmt(median(rs.map((r) => r.rate)))} | ${median(rs.map((r) => r.cpuMicros)).toFixed(1)} | ${median(rs.map((r) => r.records)).toFixed(2)} | ${fmt(median(rs.map((r) => r.bytes)))} |`;
};
process.stdout.write([
  `Alert engine without a broker: ${fmt(EVENTS)} events, ${PARTITIONS} partitions, batches of ${BATCH}, ${ROUNDS} rounds (medians); node ${process.version}, ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}`,
  '',
  '| engine | events/s | CPU µs/event | changelog records/event | changelog bytes/event |',
  '|---|---|---|---|---|',
  ...sides.map((s) => line(s.name)),
  '',
].join('\n'));
