import type { IHeaders, Kafka } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import { OnexEventCodec, registryFromUrl } from '../../../src/codec/index.js';
import type { SchemaVersion } from '../../../src/event/index.js';
import { ensureTopics } from '../../../src/kafka/index.js';
import { consumeMessages, uniqueTopic } from '../../support/kafka.js';
import { startTestRegistry, type TestRegistry } from '../../support/registry.js';

export interface ConsumedRecord {
  key: string | undefined;
  value: Buffer;
  headers: Record<string, string>;
}

export async function createTopic(kafka: Kafka, topic: string, partitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [{ topic, partitions }]);
  } finally {
    await admin.disconnect();
  }
}

/** A topic of its own for one test: a unique name, created with `partitions`. */
export async function newTopic(kafka: Kafka, prefix: string, partitions = 3): Promise<string> {
  const topic = uniqueTopic(prefix);
  await createTopic(kafka, topic, partitions);
  return topic;
}

/** How many records the topic holds: the sum of its high watermarks (no compaction, no transactions here). */
export async function recordCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

function headerText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k] = Array.isArray(v) ? String(v[0]) : String(v);
  return out;
}

/** Reads every record of the topic (as many as its watermarks say) through a fresh consumer group. */
export async function consumeAll(kafka: Kafka, topic: string, timeoutMs = 120_000): Promise<ConsumedRecord[]> {
  const expected = await recordCount(kafka, topic);
  if (expected === 0) return [];
  const messages = await consumeMessages(kafka, topic, expected, timeoutMs);
  return messages.map((m) => ({ key: m.key?.toString(), value: m.value!, headers: headerText(m.headers) }));
}

/** A real registry server on 127.0.0.1 for the test file (started before its tests, stopped after); returns its URL. */
export function useTestRegistry(): () => string {
  let registry: TestRegistry | undefined;
  beforeAll(async () => {
    registry = await startTestRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });
  return () => registry!.url;
}

/** Decodes with the real codec over the real registry (target version = what the test expects to read). */
export function decoderFor(registryUrl: string): (value: Buffer, target: SchemaVersion) => Promise<{ event: Record<string, unknown>; writerVersion: SchemaVersion }> {
  const codec = new OnexEventCodec({ registry: registryFromUrl(registryUrl) });
  return (value, target) => codec.decode(value, target);
}
