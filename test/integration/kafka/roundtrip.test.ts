import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics } from '../../../src/kafka/index.js';
import { consumeMessages, kafkaBrokers, uniqueTopic } from '../../support/kafka.js';

const { CompressionTypes } = kafkajs;

describe('a real broker carries records both ways', () => {
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'roundtrip-test' });
  const admin = kafka.admin();

  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it('delivers 10,000 records through a consumer group, none lost, in order within each key', async () => {
    const topic = uniqueTopic('roundtrip');
    expect(await ensureTopics(admin, [{ topic, partitions: 3 }])).toEqual([topic]);
    // ensureTopics is idempotent: a second call creates nothing and does not fail.
    expect(await ensureTopics(admin, [{ topic, partitions: 3 }])).toEqual([]);

    const total = 10_000;
    const keys = 50;
    const producer = kafka.producer({ idempotent: true, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let start = 0; start < total; start += 1_000) {
      await producer.send({
        topic,
        acks: -1,
        compression: start % 2000 === 0 ? CompressionTypes.None : CompressionTypes.LZ4,
        messages: Array.from({ length: 1_000 }, (_, i) => {
          const n = start + i;
          return { key: `k${n % keys}`, value: JSON.stringify({ n }) };
        }),
      });
    }
    await producer.disconnect();

    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(total);

    const seen = new Set<number>();
    const lastByKey = new Map<string, number>();
    let outOfOrder = 0;
    for (const m of await consumeMessages(kafka, topic, total)) {
      const { n } = JSON.parse(m.value!.toString()) as { n: number };
      const key = m.key!.toString();
      if ((lastByKey.get(key) ?? -1) > n) outOfOrder++;
      lastByKey.set(key, n);
      seen.add(n);
    }

    expect(seen.size).toBe(total);
    expect(Math.min(...seen)).toBe(0);
    expect(Math.max(...seen)).toBe(total - 1);
    expect(outOfOrder).toBe(0);
  });
});
