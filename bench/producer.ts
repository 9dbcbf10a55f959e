/**
 * Producer throughput for 1 KB ONEX events, beside three baselines measured in the same run on the same broker:
 *   (a) raw kafkajs sending pre-serialised JSON of the same events, batches of the same size, one send after another;
 *   (b) kafkajs + @kafkajs/confluent-schema-registry, encoding and sending message by message (the usual first code);
 *   (c) Kafka's Java ProducerPerformance with the same record size: the ceiling of the broker on this machine.
 * Prints a markdown table with ratios. `npx tsx bench/producer.ts` (KAFKA_BROKERS, or a local broker started here).
 * Knobs: BENCH_EVENTS (default 100000), BENCH_REGISTRY_EVENTS (default 3000), BENCH_SKIP_JAVA=1.
 * BENCH_SECURITY=1 adds, in the same rounds, OnexProducer with a security policy that applies to no event (the cost
 * of the seam) and with one signing every event (HMAC-SHA256) and encrypting one 200-byte metadata field; all three
 * of those send the same events, each carrying that field.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import { nowTimestamp, parseTimestamp } from '../src/event/index.js';
import { resolveKafkaClasspath, startEphemeralBroker, SyntheticEvents } from '../src/dev/index.js';
import { crc32cImplementation, createKafka, ensureTopics } from '../src/kafka/index.js';
import { OnexProducer, PRODUCER_DEFAULTS } from '../src/producer/index.js';
import { emitAll } from './support.js';
import { MemoryStore } from '../src/registry/memory-store.js';
import { createRegistryServer } from '../src/registry/server.js';
import { loadSchema } from '../src/schema/index.js';
import { ALL_EVENT_TYPES } from '../src/event/index.js';
import { EventSigner, FieldCipher, LocalKeyringProvider, newKeyringEntry, SecurityPolicy } from '../src/security/index.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const REGISTRY_EVENTS = Number(process.env.BENCH_REGISTRY_EVENTS ?? 3_000);
const WARMUP = 10_000;
const BATCH = PRODUCER_DEFAULTS.batch.maxEvents;
const EVENT_BYTES = 1024;
const say = (line: string) => process.stderr.write(`${line}\n`);

/** CPU this process spent per event (user + system): a measure the machine's other load moves far less than events/s. */
type Measured = { seconds: number; bytes: number; cpuUs: number };

interface Row {
  name: string;
  events: number;
  seconds: number;
  bytes: number;
  /** Undefined for the Java tool (another process). */
  cpuUs?: number;
  note: string;
}

const broker = process.env.KAFKA_BROKERS ? undefined : await startEphemeralBroker({ prefix: 'onex-bench-producer-', onProgress: say });
const brokers = process.env.KAFKA_BROKERS ?? broker!.info.bootstrap;
const registryServer = createRegistryServer({ store: new MemoryStore() });
const registryUrl = await registryServer.listen(0, '127.0.0.1');
const kafka = createKafka({ brokers, clientId: 'bench-producer' });
const admin = kafka.admin();
await admin.connect();
const run = Date.now().toString(36);
async function topic(name: string): Promise<string> {
  const t = `bench.producer.${run}.${name}`;
  await ensureTopics(admin, [{ topic: t, partitions: 3 }]);
  return t;
}

// The same events for every contender: complete (ids, timestamps), so the raw baseline sends exactly what we send.
function makeEvents(n: number, seed: number): Array<Record<string, unknown>> {
  const g = new SyntheticEvents({ versions: ['1.3.0'], sizeBytes: EVENT_BYTES, seed });
  return Array.from({ length: n }, () => ({ ...g.next().event, event_id: randomUUID(), timestamp: nowTimestamp() }));
}
const warmEvents = makeEvents(WARMUP, 1);
const events = makeEvents(EVENTS, 2);

const SECURITY = process.env.BENCH_SECURITY === '1';
const keys = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'bench')] });
const policies = {
  /** Names a node no event comes from: every event goes through the seam and finds nothing to do. */
  idle: new SecurityPolicy({ signer: new EventSigner({ provider: keys }), sign: { nodes: ['no_such_node-001'] } }),
  on: new SecurityPolicy({
    cipher: new FieldCipher({ provider: keys }),
    signer: new EventSigner({ provider: keys, algorithm: 'hmac-sha256' }),
    encrypt: Object.fromEntries(ALL_EVENT_TYPES.map((type) => [type, ['metadata.secret']])),
    sign: true,
  }),
};
const withSecret = (list: Array<Record<string, unknown>>) =>
  list.map((e) => ({ ...e, metadata: { ...(e.metadata as object), secret: 's'.repeat(200) } }));

async function onexProducer(list: Array<Record<string, unknown>>, t: string, security?: SecurityPolicy): Promise<Measured> {
  const producer = new OnexProducer({ kafka: { brokers: brokers!, clientId: 'bench-onex' }, registry: registryUrl, topic: t, metricsRegistry: new Registry(), ...(security ? { security } : {}) });
  await producer.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const bytes = await emitAll(producer, list, 20_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await producer.close();
  return { seconds, bytes, cpuUs: (cpu.user + cpu.system) / list.length };
}

/**
 * (a) as a service would write it by hand; `guarantees` gives it what OnexProducer's records carry on the wire
 * (idempotent producer, the three ONEX headers), so the difference to OnexProducer is the SDK's own work.
 */
async function rawKafkajs(list: Array<Record<string, unknown>>, t: string, guarantees = false): Promise<Measured> {
  const messages = list.map((e) => ({
    key: String(e.correlation_id),
    value: Buffer.from(JSON.stringify(e)),
    headers: guarantees
      ? { 'onex-event-type': String(e.event_type), 'onex-schema-version': '1.3.0', traceparent: `00-${String(e.trace_id)}-${String(e.event_id).replace(/-/g, '').slice(0, 16)}-01` }
      : undefined,
  }));
  const bytes = messages.reduce((n, m) => n + m.value.length + m.key.length, 0);
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner, idempotent: guarantees });
  await producer.connect();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < messages.length; i += BATCH) {
    await producer.send({ topic: t, acks: -1, messages: messages.slice(i, i + BATCH) });
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await producer.disconnect();
  return { seconds, bytes, cpuUs: (cpu.user + cpu.system) / list.length };
}

/** The event in the Avro form avsc writes without our logical types: micros, JSON text. */
function avroForm(e: Record<string, unknown>): Record<string, unknown> {
  return {
    event_id: e.event_id,
    timestamp: parseTimestamp(String(e.timestamp))!.micros,
    node_id: e.node_id,
    event_type: e.event_type,
    correlation_id: e.correlation_id ?? null,
    metadata: e.metadata == null ? null : JSON.stringify(e.metadata),
    schema_version: e.schema_version ?? '1.3.0',
    error_code: e.error_code ?? null,
    parent_correlation_id: e.parent_correlation_id ?? null,
    trace_id: e.trace_id ?? null,
    sample_rate: 1,
    replay: null,
  };
}

async function registryPerMessage(list: Array<Record<string, unknown>>, t: string): Promise<Measured> {
  const registry = new SchemaRegistry({ host: registryUrl });
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(loadSchema('1.3.0')) }, { subject: `bench-${run}-value` });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const e of list) {
    const value = await registry.encode(id, avroForm(e));
    bytes += value.length;
    await producer.send({ topic: t, acks: -1, messages: [{ key: String(e.correlation_id), value }] });
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await producer.disconnect();
  return { seconds, bytes, cpuUs: (cpu.user + cpu.system) / list.length };
}

function javaProducerPerformance(t: string, n: number): Promise<{ seconds: number; bytes: number; line: string }> {
  const classpath = resolveKafkaClasspath();
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-Xmx512m', '-cp', classpath, 'org.apache.kafka.tools.ProducerPerformance',
      '--topic', t, '--num-records', String(n), '--record-size', String(EVENT_BYTES), '--throughput', '-1',
      '--producer-props', `bootstrap.servers=${brokers}`, 'acks=all', 'enable.idempotence=true'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', () => undefined);
    child.on('error', reject);
    child.on('close', () => {
      const last = out.trim().split('\n').filter((l) => l.includes('records sent')).pop() ?? '';
      const m = /([\d.]+) records\/sec/.exec(last);
      if (!m) return reject(new Error(`ProducerPerformance printed no summary: ${out.slice(-400)}`));
      const rate = Number(m[1]);
      resolve({ seconds: n / rate, bytes: n * EVENT_BYTES, line: last });
    });
  });
}

const rows: Row[] = [];
try {
  say(`broker ${brokers}, registry ${registryUrl}; ${EVENTS} events of ~${EVENT_BYTES} bytes; warming up`);
  await onexProducer(warmEvents, await topic('warm-onex'));
  await rawKafkajs(warmEvents, await topic('warm-raw'));
  await rawKafkajs(warmEvents, await topic('warm-rawh'), true);
  await registryPerMessage(warmEvents.slice(0, 500), await topic('warm-registry'));

  // The machine is shared (2 cores, a broker, other processes): OnexProducer and raw kafkajs alternate in rounds of
  // a third of the events each, and each keeps its best round, so a burst of outside load does not decide the ratio.
  const rounds = 3;
  const per = Math.ceil(EVENTS / rounds);
  const best = {
    ours: { seconds: Infinity, bytes: 0, cpuUs: 0, events: 0 },
    raw: { seconds: Infinity, bytes: 0, cpuUs: 0, events: 0 },
    rawGuarantees: { seconds: Infinity, bytes: 0, cpuUs: 0, events: 0 },
  };
  for (let r = 0; r < rounds; r++) {
    const slice = events.slice(r * per, (r + 1) * per);
    say(`round ${r + 1}/${rounds}: OnexProducer...`);
    const o = await onexProducer(slice, await topic(`onex-${r}`));
    say(`round ${r + 1}/${rounds}: raw kafkajs...`);
    const w = await rawKafkajs(slice, await topic(`raw-${r}`));
    say(`round ${r + 1}/${rounds}: raw kafkajs, idempotent, with the ONEX headers...`);
    const h = await rawKafkajs(slice, await topic(`rawh-${r}`), true);
    say(`  OnexProducer ${Math.round(slice.length / o.seconds)}/s, raw kafkajs ${Math.round(slice.length / w.seconds)}/s, raw + guarantees ${Math.round(slice.length / h.seconds)}/s`);
    if (slice.length / o.seconds > best.ours.events / best.ours.seconds || r === 0) best.ours = { ...o, events: slice.length };
    if (slice.length / w.seconds > best.raw.events / best.raw.seconds || r === 0) best.raw = { ...w, events: slice.length };
    if (slice.length / h.seconds > best.rawGuarantees.events / best.rawGuarantees.seconds || r === 0) best.rawGuarantees = { ...h, events: slice.length };
  }
  rows.push({ name: 'OnexProducer.emit (validate, sample, Avro, registry id, batch, idempotent, acks=all)', ...best.ours, note: `best of ${rounds} rounds; batches of up to ${BATCH}` });
  if (SECURITY) {
    // Security rounds: the three contenders alternate on the same events (each with a 200-byte metadata.secret).
    const secEvents = withSecret(events);
    await onexProducer(withSecret(warmEvents), await topic('warm-sec'), policies.on);
    const names = ['none', 'idle', 'on'] as const;
    const bestSec: Record<string, Measured & { events: number }> = {};
    for (let r = 0; r < rounds; r++) {
      const slice = secEvents.slice(r * per, (r + 1) * per);
      for (const name of names) {
        const m = await onexProducer(slice, await topic(`sec-${name}-${r}`), name === 'none' ? undefined : policies[name]);
        const b = bestSec[name];
        if (!b || slice.length / m.seconds > b.events / b.seconds) bestSec[name] = { ...m, events: slice.length };
      }
      say(`security round ${r + 1}/${rounds}: ${names.map((n) => `${n} ${bestSec[n]!.cpuUs.toFixed(1)} µs`).join(', ')}`);
    }
    rows.push({ name: 'security: no policy (events with a 200-byte metadata.secret)', ...bestSec.none!, note: `best of ${rounds} rounds; the baseline of the two rows below` });
    rows.push({ name: 'security: a policy that applies to no event', ...bestSec.idle!, note: `best of ${rounds} rounds; the cost of the seam` });
    rows.push({ name: 'security: HMAC-SHA256 signature + metadata.secret encrypted, every event', ...bestSec.on!, note: `best of ${rounds} rounds` });
  }
  rows.push({ name: '(a) raw kafkajs, pre-serialised JSON, send() per batch', ...best.raw, note: `best of ${rounds} rounds; batches of ${BATCH}, acks=all` });
  rows.push({ name: '(a2) as (a), plus idempotence and the three ONEX headers', ...best.rawGuarantees, note: `best of ${rounds} rounds; what OnexProducer puts on the wire, without its validation, sampling and Avro` });
  say('kafkajs + confluent-schema-registry, message by message...');
  const reg = await registryPerMessage(events.slice(0, REGISTRY_EVENTS), await topic('registry'));
  rows.push({ name: '(b) kafkajs + @kafkajs/confluent-schema-registry, encode + send per message', events: REGISTRY_EVENTS, ...reg, note: 'acks=all' });
  if (process.env.BENCH_SKIP_JAVA !== '1') {
    say('Java ProducerPerformance...');
    const java = await javaProducerPerformance(await topic('java'), EVENTS);
    rows.push({ name: `(c) Kafka ProducerPerformance (Java), ${EVENT_BYTES}-byte records`, events: EVENTS, seconds: java.seconds, bytes: java.bytes, note: 'acks=all, idempotent, Kafka defaults' });
  }
} finally {
  await admin.disconnect();
  await registryServer.close();
  await broker?.stop();
}

const rate = (r: Row) => r.events / r.seconds;
const ours = rows[0]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const lines = [
  '| producer | events | events/s | MB/s | CPU µs/event | OnexProducer relative to it | notes |',
  '|---|---:|---:|---:|---:|---:|---|',
  ...rows.map((r, i) =>
    `| ${r.name} | ${fmt(r.events)} | ${fmt(rate(r))} | ${(r.bytes / r.seconds / 1e6).toFixed(1)} | ${r.cpuUs === undefined ? 'n/a' : r.cpuUs.toFixed(0)} | ${i === 0 ? '1.00x' : `${(rate(ours) / rate(r)).toFixed(2)}x`} | ${r.note} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
const raw = rows.find((r) => r.name.startsWith('(a)'));
const reg = rows.find((r) => r.name.startsWith('(b)'));
const java = rows.find((r) => r.name.startsWith('(c)'));
process.stdout.write(
  `\nnode ${process.version}, OnexProducer's record batches checksummed by the ${crc32cImplementation()} CRC-32C (raw kafkajs: its own JavaScript one), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end; OnexProducer: ${raw ? `${(rate(ours) / rate(raw)).toFixed(2)}x raw kafkajs (target >= 1.0x)` : ''}` +
    `${reg ? `, ${(rate(ours) / rate(reg)).toFixed(1)}x message-by-message registry usage (target >= 5x)` : ''}` +
    `${java ? `, ${((rate(ours) / rate(java)) * 100).toFixed(0)}% of the Java ceiling` : ''}\n`,
);
