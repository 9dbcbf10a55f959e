import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics, FAST_RECORD, installRecordBatchEncoder, registerLz4Codec } from '../../../src/kafka/index.js';
import { runJavaConsoleConsumer } from '../../support/java-tools.js';
import { consumeMessages, kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { fetchRecordBatchHeaders } from '../../support/record-batches.js';

const { CompressionTypes } = kafkajs;

/**
 * The one-pass record batch encoder (src/kafka/record-batch.ts) against the real broker, which checks every batch's
 * CRC and layout before it writes it, and against Kafka's Java consumer.
 */
describe('one-pass record batch encoder on the wire', () => {
  const brokers = kafkaBrokers();
  const kafka = createKafka({ brokers, clientId: 'record-batch-test' });
  const admin = kafka.admin();

  beforeAll(async () => {
    registerLz4Codec();
    expect(installRecordBatchEncoder()).toBe(true);
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  const records = (n: number, tag: string) =>
    Array.from({ length: n }, (_, i) => ({
      key: `${tag}-key-${i % 17}`,
      value: Buffer.from(`${tag}-${i}-${'onex'.repeat(20 + (i % 300))}`),
      headers: { 'onex-event-type': 'NODE_SUCCESS', 'onex-schema-version': Buffer.from('1.3.0'), seq: String(i) },
      [FAST_RECORD]: true as const,
    }));

  it.each([
    ['plain', CompressionTypes.None],
    ['lz4', CompressionTypes.LZ4],
  ] as const)('an idempotent producer writes %s batches the broker accepts and Java and kafkajs consumers read back', async (name, compression) => {
    const topic = uniqueTopic(`fast-batch-${name}`);
    await ensureTopics(admin, [{ topic, partitions: 3 }]);
    const sent = records(600, name);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    for (let i = 0; i < sent.length; i += 200) await producer.send({ topic, acks: -1, compression, messages: sent.slice(i, i + 200) });
    await producer.disconnect();

    // Idempotent batches: a producer id and sequence on every batch, the codec bits as asked.
    const batches = (await Promise.all([0, 1, 2].map((p) => fetchRecordBatchHeaders(brokers[0]!, topic, p)))).flat();
    expect(batches.reduce((n, b) => n + b.recordCount, 0)).toBe(sent.length);
    expect(batches.every((b) => b.magic === 2 && b.compression === (name === 'lz4' ? 'lz4' : 'none'))).toBe(true);

    const received = await consumeMessages(kafka, topic, sent.length);
    const byValue = new Map(received.map((m) => [m.value!.toString(), m]));
    for (const s of sent) {
      const m = byValue.get(s.value.toString());
      expect(m, s.value.toString().slice(0, 20)).toBeDefined();
      expect(m!.key!.toString()).toBe(s.key);
      expect(Object.fromEntries(Object.entries(m!.headers ?? {}).map(([k, v]) => [k, String(v)]))).toEqual({ 'onex-event-type': 'NODE_SUCCESS', 'onex-schema-version': '1.3.0', seq: s.headers.seq });
    }

    const java = await runJavaConsoleConsumer(brokers, topic, sent.length, { 'print.key': 'true', 'print.headers': 'true', 'key.separator': '|' });
    expect(java.code, java.stderr).toBe(0);
    const javaLines = java.stdout.trim().split('\n').sort();
    expect(javaLines).toEqual(sent.map((s) => `onex-event-type:NODE_SUCCESS,onex-schema-version:1.3.0,seq:${s.headers.seq}|${s.key}|${s.value.toString()}`).sort());
  });
});
