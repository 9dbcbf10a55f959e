/**
 * Avro encode, decode, and decode plus upcast 1.0.0 -> 2.0.0 of ~1 KB ONEX events, in events per second, beside
 * JSON of the same events measured in the same run. The JSON baseline produces and consumes bytes, as a Kafka
 * pipeline must (Buffer.from(JSON.stringify(e)), JSON.parse(buf.toString())); the string-only JSON numbers are
 * printed too. Ratios are what to quote; absolute numbers vary from machine to machine.
 *
 * Targets (issue): decode + upcast 1.0.0 -> 2.0.0 at 200,000 events/s or more on one core; Avro encode and decode
 * at least as fast as JSON for the same event.
 *
 *   npx tsx bench/schema-codec.ts          (BENCH_MS=300 per round by default, 3 rounds, the median is reported)
 */
import { performance } from 'node:perf_hooks';
import type { SchemaVersion } from '../src/event/index.js';
import { createDecoder, encodeEvent, transformEvent } from '../src/schema/index.js';
import { generateEvent, rng } from '../test/fixtures/events/generate.js';

const ROUND_MS = Number(process.env.BENCH_MS ?? 300);
const ROUNDS = 3;
const EVENTS = 1000;
const TARGET_UPCAST = 200_000;

type Workload = { name: string; version: SchemaVersion; events: Record<string, unknown>[] };

function workload(name: string, version: SchemaVersion, seed: number, eventType?: string): Workload {
  const r = rng(seed);
  const events = Array.from({ length: EVENTS }, () => generateEvent(r, version, { targetBytes: 1024, eventType: eventType as never }));
  return { name, version, events };
}

/** Events per second of `op` over the items, median of ROUNDS rounds of ROUND_MS each (after a warm-up round). */
function rate<T>(items: readonly T[], op: (item: T) => unknown): number {
  let sink = 0;
  const round = () => {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ROUND_MS) {
      for (let i = 0; i < items.length; i++) if (op(items[i]!) !== undefined) sink++;
      n += items.length;
      elapsed = performance.now() - start;
    }
    return (n / elapsed) * 1000;
  };
  round();
  const rates = Array.from({ length: ROUNDS }, round).sort((a, b) => a - b);
  if (sink < 0) process.stdout.write(''); // keep the results alive
  return rates[Math.floor(ROUNDS / 2)]!;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

const rows: string[] = [];
function row(what: string, events: number, baseline: number | undefined, note = ''): void {
  rows.push(`| ${what} | ${fmt(events)} | ${baseline === undefined ? '' : ratio(events, baseline)} | ${note} |`);
}

const workloads = [
  workload('1.0.0, mixed event types', '1.0.0', 1),
  workload('1.0.0, NODE_SUCCESS (state objects)', '1.0.0', 2, 'NODE_SUCCESS'),
  workload('2.0.0, mixed event types', '2.0.0', 3),
  workload('2.0.0, TELEMETRY_OPERATION_SUCCESS (typed)', '2.0.0', 4, 'TELEMETRY_OPERATION_SUCCESS'),
];

for (const w of workloads) {
  const json = w.events.map((e) => Buffer.from(JSON.stringify(e)));
  const jsonText = json.map((b) => b.toString());
  const avro = w.events.map((e) => encodeEvent(e, w.version));
  const avgJson = json.reduce((s, b) => s + b.length, 0) / json.length;
  const avgAvro = avro.reduce((s, b) => s + b.length, 0) / avro.length;
  rows.push(`| **${w.name}**: ${Math.round(avgJson)} B as JSON, ${Math.round(avgAvro)} B as Avro | | | |`);

  const jsonEncode = rate(w.events, (e) => Buffer.from(JSON.stringify(e)));
  const jsonStringify = rate(w.events, (e) => JSON.stringify(e));
  const avroEncode = rate(w.events, (e) => encodeEvent(e, w.version));
  row('JSON encode (stringify + bytes)', jsonEncode, undefined, 'baseline');
  row('JSON.stringify only', jsonStringify, jsonEncode);
  row(`Avro encode ${w.version}`, avroEncode, jsonEncode, avroEncode >= jsonEncode ? 'target met' : 'below JSON');

  const jsonDecode = rate(json, (b) => JSON.parse(b.toString()));
  const jsonParse = rate(jsonText, (t) => JSON.parse(t));
  const decode = createDecoder(w.version, w.version);
  const avroDecode = rate(avro, decode);
  row('JSON decode (bytes + parse)', jsonDecode, undefined, 'baseline');
  row('JSON.parse only', jsonParse, jsonDecode);
  row(`Avro decode ${w.version}`, avroDecode, jsonDecode, avroDecode >= jsonDecode ? 'target met' : 'below JSON');

  if (w.version === '1.0.0') {
    const upcast = createDecoder('1.0.0', '2.0.0');
    const avroUpcast = rate(avro, upcast);
    const jsonUpcast = rate(json, (b) => transformEvent(JSON.parse(b.toString()) as object, '2.0.0'));
    row('JSON decode + transformEvent 1.0.0 -> 2.0.0', jsonUpcast, jsonDecode);
    row('Avro decode + upcast 1.0.0 -> 2.0.0', avroUpcast, jsonDecode, avroUpcast >= TARGET_UPCAST ? `target ${fmt(TARGET_UPCAST)}/s met` : `below the ${fmt(TARGET_UPCAST)}/s target`);
  } else {
    row('Avro decode + downcast 2.0.0 -> 1.3.0', rate(avro, createDecoder('2.0.0', '1.3.0')), jsonDecode);
    row('Avro decode + downcast 2.0.0 -> 1.0.0', rate(avro, createDecoder('2.0.0', '1.0.0')), jsonDecode);
  }
}

process.stdout.write(`Schema codec: ${EVENTS} generated events per workload, ~1 KB each as JSON; node ${process.version}; median of ${ROUNDS} rounds of ${ROUND_MS} ms.\n\n`);
process.stdout.write('| operation | events/s | vs JSON | note |\n|---|---:|---:|---|\n');
process.stdout.write(`${rows.join('\n')}\n`);
