import kafkajs, { type KafkaMessage, type Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, ensureTopics, fetchDecoderStats, installFetchDecoder, kafkajsSeam, registerLz4Codec, withFastFetch } from '../../../src/kafka/index.js';
import { consumeMessages, kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { randomRecords } from '../../support/kafka-records.js';

const { CompressionTypes } = kafkajs;

/** What a consumer is handed for a record, in a form two reads can be compared by. */
const view = (m: KafkaMessage) => ({
  offset: m.offset,
  timestamp: m.timestamp,
  key: m.key?.toString('hex') ?? null,
  value: m.value?.toString('hex') ?? null,
  headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => x?.toString('hex') ?? null) : (v?.toString('hex') ?? null)])),
});

/**
 * The one-pass Fetch decoder (src/kafka/fetch-decoder.ts) on what the real broker sends: kafkajs consumers read the
 * same topic once through it and once through kafkajs's own decoder, and must be handed the same records.
 */
describe('one-pass fetch decoder on the wire', () => {
  const brokers = kafkaBrokers();
  const kafka = createKafka({ brokers, clientId: 'fetch-decoder-test' });
  const admin = kafka.admin();

  beforeAll(async () => {
    registerLz4Codec();
    expect(installFetchDecoder()).toBe(true);
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('plain, LZ4 and transactional batches with keys, headers and nulls read the same as through kafkajs', async () => {
    const topic = uniqueTopic('fast-fetch');
    await ensureTopics(admin, [{ topic, partitions: 3 }]);
    const records: Message[] = randomRecords(31, 600).map(({ key, value, headers }) => ({ key, value: value ?? null, headers: headers as Message['headers'] }));
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: records.slice(0, 200) });
    await producer.send({ topic, acks: -1, compression: CompressionTypes.LZ4, messages: records.slice(200, 400) });
    await producer.disconnect();
    const transactional = kafka.producer({ idempotent: true, transactionalId: `${topic}.tx`, maxInFlightRequests: 1 });
    await transactional.connect();
    const tx = await transactional.transaction();
    await tx.send({ topic, messages: records.slice(400) });
    await tx.commit();
    await transactional.disconnect();

    const before = { ...fetchDecoderStats(), left: kafkajsSeam().fetch.leftToKafkajs };
    // Both read the topic at the same time: only the consumer run inside withFastFetch is decoded here, the other
    // (a plain kafkajs consumer of the very same topic, in the same process) is left to kafkajs.
    const [fast, stock] = await Promise.all([withFastFetch(() => consumeMessages(kafka, topic, records.length)), consumeMessages(kafka, topic, records.length)]);
    const after = { ...fetchDecoderStats(), left: kafkajsSeam().fetch.leftToKafkajs };
    expect(after.decoded).toBeGreaterThan(before.decoded);
    expect(after.left).toBeGreaterThan(before.left);
    expect(after.leftToKafkajs).toBe(before.leftToKafkajs); // nothing handed back: every response was for this decoder
    // Records of all three partitions, each as JSON text: the sort needs a total order, and offsets repeat across partitions.
    const order = (ms: KafkaMessage[]) => ms.map((m) => JSON.stringify(view(m))).sort();
    expect(fast).toHaveLength(records.length); // the commit marker, a control record, is handed to neither
    expect(order(fast)).toEqual(order(stock));
    expect(new Set(fast.map((m) => m.value?.toString('hex') ?? null))).toEqual(new Set(records.map((r) => (r.value === null || r.value === undefined ? null : Buffer.from(r.value).toString('hex')))));
  });
});
