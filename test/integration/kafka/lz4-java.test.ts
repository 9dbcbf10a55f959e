import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics } from '../../../src/kafka/index.js';
import { runJavaConsoleConsumer, runKafkaJavaTool } from '../../support/java-tools.js';
import { consumeMessages, kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { fetchRecordBatchHeaders } from '../../support/record-batches.js';

const { CompressionTypes } = kafkajs;

/** Compressible values of distinct content, so an LZ4 batch is both real and checkable record by record. */
const values = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}-${i}-${'onex'.repeat(50 + (i % 7))}`);

describe("our LZ4 is Kafka's LZ4", () => {
  const brokers = kafkaBrokers();
  const kafka = createKafka({ brokers, clientId: 'lz4-java-test' });
  const admin = kafka.admin();

  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("Kafka's Java consumer reads LZ4 batches written by our kafkajs setup", async () => {
    const topic = uniqueTopic('lz4-to-java');
    await ensureTopics(admin, [{ topic }]);
    const sent = values(500, 'js');
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < sent.length; i += 100) {
      await producer.send({ topic, acks: -1, compression: CompressionTypes.LZ4, messages: sent.slice(i, i + 100).map((value) => ({ value })) });
    }
    await producer.disconnect();

    const batches = await fetchRecordBatchHeaders(brokers[0]!, topic);
    expect(batches).toHaveLength(5);
    expect(batches.every((b) => b.compression === 'lz4' && b.magic === 2 && b.recordCount === 100)).toBe(true);

    const java = await runJavaConsoleConsumer(brokers, topic, sent.length);
    expect(java.code, java.stderr).toBe(0);
    expect(java.stdout.trim().split('\n')).toEqual(sent);
  });

  it("our consumer reads LZ4 batches written by Kafka's Java producer", async () => {
    const topic = uniqueTopic('lz4-from-java');
    await ensureTopics(admin, [{ topic }]);
    const sent = values(500, 'java');
    const java = await runKafkaJavaTool(
      'org.apache.kafka.tools.ConsoleProducer',
      ['--bootstrap-server', brokers.join(','), '--topic', topic, '--compression-codec', 'lz4', '--producer-property', 'linger.ms=50', '--producer-property', 'batch.size=1048576'],
      `${sent.join('\n')}\n`,
    );
    expect(java.code, java.stderr).toBe(0);

    const batches = await fetchRecordBatchHeaders(brokers[0]!, topic);
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.every((b) => b.compression === 'lz4')).toBe(true);
    expect(batches.reduce((n, b) => n + b.recordCount, 0)).toBe(sent.length);
    // Real batching: the Java producer packed several records into at least one LZ4 batch.
    expect(Math.max(...batches.map((b) => b.recordCount))).toBeGreaterThan(1);

    const received = (await consumeMessages(kafka, topic, sent.length)).map((m) => m.value!.toString());
    expect(received).toEqual(sent);
  });
});
