import { randomUUID } from 'node:crypto';
import avro from 'avsc';
import type { Admin, IHeaders, Kafka, Producer } from 'kafkajs';
import { OnexEventCodec, registryFromUrl, writeWireFormat } from '../../../src/codec/index.js';
import type { SchemaVersion } from '../../../src/event/index.js';
import { createKafka, ensureTopics } from '../../../src/kafka/index.js';
import { RegistryClient } from '../../../src/registry/index.js';
import { retryWhileRetriable } from '../../../src/worker/index.js';
import { loadSchema, SCHEMA_VERSIONS, VERSION_ATTRIBUTE } from '../../../src/schema/index.js';
import { kafkaBrokers } from '../../support/kafka.js';
import { startTestRegistry, type TestRegistry } from '../../support/registry.js';

/**
 * One real broker (the run's) and one real registry server (this file's) for the worker's integration tests. Input is
 * written the way any producer writes it: the codec's wire format through a plain kafkajs producer; poison is written
 * the same way, with the bytes made wrong on purpose.
 */
export interface Pipeline {
  kafka: Kafka;
  registry: TestRegistry;
  codec: OnexEventCodec;
  producer: Producer;
  admin: Admin;
  brokers: string;
  close(): Promise<void>;
}

/** Kafka client, registry, codec, producer and admin on the run's broker, or on `brokers` (the faults cluster). */
export async function startPipeline(brokers: string[] = kafkaBrokers()): Promise<Pipeline> {
  const kafka = createKafka({ brokers });
  const registry = await retryWhileRetriable(() => startTestRegistry(brokers));
  const codec = new OnexEventCodec({ registry: registryFromUrl(registry.url) });
  for (const v of SCHEMA_VERSIONS) await codec.prepare(v);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  return {
    kafka,
    registry,
    codec,
    producer,
    admin,
    brokers: brokers.join(','),
    async close() {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      await registry.stop();
    },
  };
}

/** Creates a topic; a broker that just started can refuse for a moment with a retriable error, so try again. */
export async function createTopic(p: Pipeline, topic: string, partitions = 1): Promise<void> {
  await retryWhileRetriable(() => ensureTopics(p.admin, [{ topic, partitions }]));
}

/** A valid event of a version, in that version's shape. Metadata follows the NODE_START standard. */
export function eventOf(version: SchemaVersion, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    event_id: randomUUID(),
    timestamp: '2026-05-25T14:17:21.178483Z',
    node_id: 'stamper_node-001',
    event_type: 'NODE_START',
    correlation_id: randomUUID(),
    metadata: { input_state: { file: 'a.py', version } },
  };
  if (version !== '1.0.0') base.schema_version = version;
  return { ...base, ...overrides };
}

export interface Input {
  key?: string | null;
  value: Buffer | null;
  headers?: IHeaders;
}

export function encoded(p: Pipeline, version: SchemaVersion, overrides: Record<string, unknown> = {}): { id: string; input: Input } {
  const e = eventOf(version, overrides);
  return { id: e.event_id as string, input: { key: (e.correlation_id as string) ?? null, value: p.codec.encode(e, version) } };
}

export async function produce(p: Pipeline, topic: string, inputs: Input[], partition?: number): Promise<void> {
  for (let i = 0; i < inputs.length; i += 500) {
    await p.producer.send({
      topic,
      acks: -1,
      messages: inputs.slice(i, i + 500).map((m) => ({ key: m.key ?? null, value: m.value, headers: m.headers, ...(partition !== undefined ? { partition } : {}) })),
    });
  }
}

/** Writes `count` valid events, of `version` or cycling through all five versions; returns their ids in order. */
export async function produceEvents(p: Pipeline, topic: string, count: number, version?: SchemaVersion): Promise<string[]> {
  const sent = Array.from({ length: count }, (_, i) => encoded(p, version ?? SCHEMA_VERSIONS[i % SCHEMA_VERSIONS.length]!));
  await produce(p, topic, sent.map((e) => e.input));
  return sent.map((e) => e.id);
}

/** The poison of every kind the worker must dead-letter, with the code each must carry. */
export async function poisonRecords(p: Pipeline): Promise<Array<{ name: string; code: string; input: Input }>> {
  const good = p.codec.encode(eventOf('1.2.0'), '1.2.0');
  // A writer schema of a newer MAJOR than this pipeline knows (3.0.0: the envelope reshaped), registered for real.
  const v2 = loadSchema('2.0.0') as { name: string; namespace?: string };
  const v3 = {
    type: 'record',
    name: v2.name,
    namespace: v2.namespace,
    [VERSION_ATTRIBUTE]: '3.0.0',
    fields: [
      { name: 'event_id', type: 'string' },
      { name: 'tenant', type: 'string' },
      { name: 'payload', type: 'bytes' },
    ],
  };
  const v3Id = await new RegistryClient({ url: p.registry.url }).register('onex-event-v3', JSON.stringify(v3));
  const v3Body = avro.Type.forSchema(v3 as avro.Schema).toBuffer({ event_id: randomUUID(), tenant: 'acme', payload: Buffer.from('x') });
  return [
    { name: 'JSON instead of the wire format', code: 'ONEX_EVENT_604', input: { key: 'poison-magic', value: Buffer.from('{"event_type":"NODE_START"}') } },
    { name: 'a schema id the registry does not know', code: 'ONEX_EVENT_605', input: { key: 'poison-id', value: writeWireFormat(987_654, good.subarray(5)) } },
    { name: 'a truncated body', code: 'ONEX_EVENT_604', input: { key: 'poison-truncated', value: good.subarray(0, 20) } },
    { name: 'a newer major (3.0.0)', code: 'ONEX_SCHEMA_701', input: { key: 'poison-major', value: writeWireFormat(v3Id, v3Body) } },
    { name: 'an event failing validation (empty node_id)', code: 'ONEX_VALID_105', input: encoded(p, '1.1.0', { node_id: '' }).input },
    { name: 'a handler that always throws', code: 'ONEX_EVENT_610', input: encoded(p, '1.3.0', { node_id: 'explode_node-001' }).input },
  ];
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** Reads a topic from the beginning until `count` records arrived (or the timeout passes). */
export async function readTopic(p: Pipeline, topic: string, count: number, timeoutMs = 60_000): Promise<ReadRecord[]> {
  const consumer = p.kafka.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  const out: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${out.length} of ${count} records from ${topic}`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          out.push({ partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {} });
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Committed offsets of a group on a topic, summed over partitions (-1 counts as 0). */
export async function committedTotal(p: Pipeline, groupId: string, topic: string): Promise<number> {
  const [t] = await p.admin.fetchOffsets({ groupId, topics: [topic] });
  return (t?.partitions ?? []).reduce((n, x) => n + Math.max(0, Number(x.offset)), 0);
}
