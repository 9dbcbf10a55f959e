import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerLz4Codec } from '../../../src/kafka/index.js';
import { crc32cImplementation, encodeProduceRequest, encodeRecordBatch, FAST_RECORD, installRecordBatchEncoder, type RecordInput } from '../../../src/kafka/record-batch.js';
import { randomRecords } from '../../support/kafka-records.js';

const require = createRequire(import.meta.url);
type KafkajsRequest = { encode(): Promise<{ buffer: Buffer }> };
const kafkajsProduceV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: object) => KafkajsRequest;
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
const produceProtocol = require('kafkajs/src/protocol/requests/produce/index.js') as { protocol(v: { version: number }): (args: object) => { request: KafkajsRequest } };
const { CompressionTypes } = kafkajs;

const NOW = 1_795_000_000_000;

function produceArgs(records: RecordInput[], overrides: Record<string, unknown> = {}) {
  const half = Math.ceil(records.length / 2);
  return {
    acks: -1,
    timeout: 30_000,
    transactionalId: null,
    producerId: { value: 4242n },
    producerEpoch: 3,
    compression: CompressionTypes.None,
    topicData: [
      { topic: 'onex.events', partitions: [{ partition: 0, firstSequence: 17, messages: records.slice(0, half) }, { partition: 2, firstSequence: 0, messages: records.slice(half) }] },
      { topic: 'another-tøpic', partitions: [{ partition: 1, firstSequence: 5, messages: records.slice(0, 1) }] },
    ],
    ...overrides,
  };
}

/** kafkajs's Long, which its own encoder expects for the producer id. */
const KafkajsLong = require('kafkajs/src/utils/long.js') as { fromValue(v: bigint): unknown };

async function kafkajsBytes(args: ReturnType<typeof produceArgs>): Promise<Buffer> {
  const id = args.producerId as { value: bigint } | string;
  const producerId = KafkajsLong.fromValue(typeof id === 'string' ? BigInt(id) : id.value);
  return (await kafkajsProduceV3({ ...args, producerId }).encode()).buffer;
}

describe('record batch encoder', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([1, 2, 3, 4, 5, 6])('writes the same Produce request bytes as kafkajs for random records (seed %i)', async (seed) => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    const args = produceArgs(randomRecords(seed, 40));
    const ours = (await encodeProduceRequest(args)).buffer;
    expect(ours.equals(await kafkajsBytes(args))).toBe(true);
  });

  it('matches kafkajs for header values given as strings (short and long ASCII, Latin-1, emoji) and for more header names than it caches', async () => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    const values = ['5b0e3c1e-1f2a-4c3b-9d4e-5f6a7b8c9d0e', '2026-12-04T01:02:03.456789Z', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(700), 'café', 'flow-😀', ''];
    const records: RecordInput[] = Array.from({ length: 60 }, (_, i) => ({
      key: `key-${i}`,
      value: Buffer.alloc(20, i),
      headers: { ce_id: values[i % values.length]!, [`name-${i}-${'n'.repeat(i % 70)}`]: values[(i + 3) % values.length]!, constant: Buffer.from('1.0') },
      [FAST_RECORD]: true,
    }));
    // Past the encoder's cache of framed header names (1,024): names it no longer caches are framed per record.
    const many: RecordInput[] = Array.from({ length: 1_100 }, (_, i) => ({ value: 'v', headers: { [`unique-${i}`]: 'x' }, [FAST_RECORD]: true }));
    for (const list of [records, many]) {
      const args = produceArgs(list);
      expect((await encodeProduceRequest(args)).buffer.equals(await kafkajsBytes(args))).toBe(true);
    }
  });

  it('matches kafkajs for transactional batches, given timestamps and a null transactional id', async () => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    const records = randomRecords(7, 10).map((rec, i) => ({ ...rec, timestamp: String(NOW - 5_000 + i * 997) }));
    // kafkajs hands the producer id around as its Long or as the decimal string its InitProducerId decoder returns.
    for (const overrides of [{ transactionalId: 'tx-1' }, { transactionalId: null, producerId: { value: -1n }, producerEpoch: 0 }, { producerId: '9007199254740993' }]) {
      const args = produceArgs(records, overrides);
      expect((await encodeProduceRequest(args)).buffer.equals(await kafkajsBytes(args))).toBe(true);
    }
  });

  it('matches kafkajs for LZ4-compressed batches', async () => {
    registerLz4Codec();
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    const args = produceArgs(randomRecords(8, 30), { compression: CompressionTypes.LZ4 });
    expect((await encodeProduceRequest(args)).buffer.equals(await kafkajsBytes(args))).toBe(true);
  });

  it('checksums what Kafka checks: attributes to the end, CRC-32C, at byte 17 of the batch', async () => {
    const batch = await encodeRecordBatch({ records: randomRecords(9, 5), now: NOW });
    expect(batch.readInt8(16)).toBe(2);
    expect(batch.readUInt32BE(17)).toBe(kafkajsCrc32c(batch.subarray(21)) >>> 0);
    expect(batch.readInt32BE(8)).toBe(batch.length - 12);
    // This machine has the native implementation installed; the JavaScript one is the fallback elsewhere.
    expect(crc32cImplementation()).toBe('native');
  });

  it('routes only opted-in records through the fast path once installed', async () => {
    expect(installRecordBatchEncoder()).toBe(true);
    expect(installRecordBatchEncoder()).toBe(true);
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    const ours = randomRecords(10, 4);
    const theirs = ours.map(({ [FAST_RECORD]: _mark, ...rest }) => rest);
    const build = produceProtocol.protocol({ version: 7 });
    const spyArgs = produceArgs(ours);
    const fast = build(spyArgs).request;
    const plain = build(produceArgs(theirs)).request;
    // Both produce identical bytes; what differs is the function that made them.
    expect(fast.encode.name).not.toBe(plain.encode.name);
    expect((await fast.encode()).buffer.equals((await plain.encode()).buffer)).toBe(true);
    // A single record without the mark sends the whole request down kafkajs's own path.
    const mixed = build(produceArgs([...ours, theirs[0]!])).request;
    expect(mixed.encode.name).toBe(plain.encode.name);
  });
});
