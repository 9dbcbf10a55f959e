/**
 * The load side of bench/alerts.ts's latency part, run by it as a child process (`node --import tsx`) so that the
 * consumer under test has its event loop and its core to itself, as in deployment, where no processor generates its
 * own load.
 *
 * Emits RATE events/s of 2.0.0 for SECONDS s to TOPIC; after the first WARMUP s, every PROBE_EVERY-th event is a
 * probe (node_id "probe", a correlation id of its own). With ALERTS_TOPIC set, it also reads that topic read committed
 * (as any consumer of the alerts does, in a process of its own) and notes when each probe's ALERT_TRIGGERED arrives,
 * until every probe has arrived or DRAIN s have passed after the load. Prints one JSON line to stdout:
 * { rate, sentAt: { correlation id: ms }, seen: { correlation id: ms } }, times in epoch milliseconds with sub-ms
 * precision (performance.timeOrigin + performance.now(), the same clock in every process of the machine).
 *
 * Environment: KAFKA_BROKERS, REGISTRY_URL, TOPIC, RATE, SECONDS, WARMUP, PROBE_EVERY, DRAIN, ALERTS_TOPIC (optional).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { OnexEventCodec, registryFromUrl } from '../src/codec/index.js';
import { nowTimestamp } from '../src/event/index.js';
import { createKafka } from '../src/kafka/index.js';
import { generateEvent, rng } from '../test/fixtures/events/generate.js';

const env = (k: string) => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`bench/alerts-load.ts needs ${k}`);
  return v;
};
const TOPIC = env('TOPIC');
const RATE = Number(env('RATE'));
const SECONDS = Number(env('SECONDS'));
const WARMUP = Number(env('WARMUP'));
const PROBE_EVERY = Number(env('PROBE_EVERY'));
const DRAIN = Number(env('DRAIN'));
const ALERTS_TOPIC = process.env.ALERTS_TOPIC;
const now = () => performance.timeOrigin + performance.now();

const kafka = createKafka({ brokers: env('KAFKA_BROKERS') });
const codec = new OnexEventCodec({ registry: registryFromUrl(env('REGISTRY_URL')) });
await codec.prepare('2.0.0');
const sentAt = new Map<string, number>();
const seen = new Map<string, number>();

const reader = ALERTS_TOPIC ? kafka.consumer({ groupId: `bench-alerts-reader-${randomUUID()}`, maxWaitTimeInMs: 20, readUncommitted: false }) : undefined;
if (reader) {
  await reader.connect();
  await reader.subscribe({ topics: [ALERTS_TOPIC!], fromBeginning: true });
  const joined = new Promise<void>((r) => reader.on(reader.events.GROUP_JOIN, () => r()));
  await reader.run({
    eachMessage: async ({ message }) => {
      const { event } = await codec.decode<{ metadata: { untyped: { rule: string; correlation_ids: string[] } } }>(message.value!, '2.0.0');
      const m = event.metadata.untyped;
      if (m.rule === 'probe') for (const c of m.correlation_ids) if (!seen.has(c)) seen.set(c, now());
    },
  });
  await joined;
}

const r = rng(7);
const templates = Array.from({ length: 500 }, () => generateEvent(r, '2.0.0', { targetBytes: 1024 }));
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const total = RATE * SECONDS;
const start = performance.now();
let emitted = 0;
let pending: Array<{ key: string; value: Buffer }> = [];
let inFlight: Promise<unknown> | undefined;
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE));
    while (emitted < due) {
      const probe = emitted % PROBE_EVERY === 0 && performance.now() - start > WARMUP * 1000;
      const e = { ...templates[emitted % templates.length]!, event_id: randomUUID(), timestamp: nowTimestamp(), ...(probe ? { node_id: 'probe', correlation_id: randomUUID() } : {}) };
      if (probe) sentAt.set(String(e.correlation_id), now());
      pending.push({ key: String(e.node_id), value: codec.encode(e, '2.0.0') });
      emitted++;
    }
    if (pending.length && !inFlight) {
      const batch = pending;
      pending = [];
      inFlight = producer.send({ topic: TOPIC, acks: -1, messages: batch }).finally(() => (inFlight = undefined));
    }
    if (emitted >= total && !pending.length && !inFlight) {
      clearInterval(timer);
      resolve();
    }
  }, 5);
});
const rate = emitted / ((performance.now() - start) / 1000);
await producer.disconnect();
if (reader) {
  const until = Date.now() + DRAIN * 1000;
  while (seen.size < sentAt.size && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
  await reader.disconnect();
}
process.stdout.write(`${JSON.stringify({ rate, sentAt: Object.fromEntries(sentAt), seen: Object.fromEntries(seen) })}\n`);
process.exit(0);
