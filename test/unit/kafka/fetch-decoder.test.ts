import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { registerLz4Codec } from '../../../src/kafka/index.js';
import { decodeFetchResponse, installFetchDecoder, withFastFetch } from '../../../src/kafka/fetch-decoder.js';
import { encodeRecordBatch, type RecordInput } from '../../../src/kafka/record-batch.js';
import { randomRecords } from '../../support/kafka-records.js';

const require = createRequire(import.meta.url);
type Response = { decode(raw: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> };
const kafkajsV11 = require('kafkajs/src/protocol/requests/fetch/v11/response.js') as Response;
const fetchProtocol = require('kafkajs/src/protocol/requests/fetch/index.js') as { protocol(v: { version: number }): (args: object) => { response: Response } };
const { CompressionTypes } = kafkajs;
registerLz4Codec();

const NOW = 1_795_000_000_000;

interface PartitionSpec {
  partition: number;
  errorCode?: number;
  aborted?: Array<[bigint, bigint]> | null;
  /** The record set as the broker sends it: whole batches, perhaps cut short by the fetch's byte limit. */
  records: Buffer;
}

/** A Fetch v11 response, field by field as the protocol guide has it. */
function fetchResponse(topics: Array<{ name: string; partitions: PartitionSpec[] }>): Buffer {
  const parts: Buffer[] = [];
  const int = (bytes: number, write: (b: Buffer) => void) => {
    const b = Buffer.alloc(bytes);
    write(b);
    parts.push(b);
  };
  int(10, (b) => {
    b.writeInt32BE(0, 0); // throttle time
    b.writeInt16BE(0, 4); // error code
    b.writeInt32BE(77, 6); // session id
  });
  int(4, (b) => b.writeInt32BE(topics.length));
  for (const topic of topics) {
    const name = Buffer.from(topic.name);
    int(2, (b) => b.writeInt16BE(name.length));
    parts.push(name);
    int(4, (b) => b.writeInt32BE(topic.partitions.length));
    for (const p of topic.partitions) {
      int(30, (b) => {
        b.writeInt32BE(p.partition, 0);
        b.writeInt16BE(p.errorCode ?? 0, 4);
        b.writeBigInt64BE(1000n, 6); // high watermark
        b.writeBigInt64BE(990n, 14); // last stable offset
        b.writeBigInt64BE(3n, 22); // log start offset
      });
      const aborted = p.aborted === undefined ? [] : p.aborted;
      int(4, (b) => b.writeInt32BE(aborted === null ? -1 : aborted.length));
      for (const [producerId, firstOffset] of aborted ?? []) {
        int(16, (b) => {
          b.writeBigInt64BE(producerId, 0);
          b.writeBigInt64BE(firstOffset, 8);
        });
      }
      int(4, (b) => b.writeInt32BE(-1)); // preferred read replica
      int(4, (b) => b.writeInt32BE(p.records.length));
      parts.push(p.records);
    }
  }
  return Buffer.concat(parts);
}

/** A record batch as the broker stores it: encoded by the producer, then given its base offset. */
async function batch(records: RecordInput[], options: { baseOffset?: bigint; compression?: number; transactional?: boolean; attributes?: number; maxTimestamp?: bigint } = {}): Promise<Buffer> {
  const buf = await encodeRecordBatch({ records, compression: options.compression, transactional: options.transactional, producerId: 4242n, producerEpoch: 2, now: NOW });
  buf.writeBigInt64BE(options.baseOffset ?? 0n, 0);
  if (options.attributes) buf.writeInt16BE(buf.readInt16BE(21) | options.attributes, 21);
  if (options.maxTimestamp !== undefined) buf.writeBigInt64BE(options.maxTimestamp, 35);
  return buf;
}

async function bothWays(raw: Buffer): Promise<{ ours: unknown; theirs: unknown; fellBack: boolean }> {
  const fallback = vi.fn((bytes: Buffer) => kafkajsV11.decode(bytes));
  const ours = await decodeFetchResponse(raw, fallback);
  return { ours, theirs: await kafkajsV11.decode(raw), fellBack: fallback.mock.calls.length > 0 };
}

describe('decodeFetchResponse: what kafkajs decodes, decoded in one pass', () => {
  it.each([1, 2, 3, 4, 5, 6])('random records (seed %i): keys and values of every kind, repeated and null headers', async (seed) => {
    const records = randomRecords(seed, 40);
    const raw = fetchResponse([
      { name: 'onex.events', partitions: [{ partition: 0, records: Buffer.concat([await batch(records.slice(0, 25), { baseOffset: 100n }), await batch(records.slice(25), { baseOffset: 125n })]) }, { partition: 3, aborted: [[4242n, 110n]], records: await batch(records.slice(0, 3), { baseOffset: 7n }) }] },
      { name: 'another-tøpic', partitions: [{ partition: 1, records: Buffer.alloc(0) }] },
    ]);
    const { ours, theirs, fellBack } = await bothWays(raw);
    expect(fellBack).toBe(false);
    expect(ours).toEqual(theirs);
    const messages = (ours as { responses: Array<{ partitions: Array<{ messages: Array<{ offset: string }> }> }> }).responses[0]!.partitions[0]!.messages;
    expect(messages.map((m) => m.offset)).toEqual(Array.from({ length: 40 }, (_, i) => String(100 + i)));
  });

  it('compressed batches (LZ4 and GZIP) go through kafkajs codec table', async () => {
    const records = randomRecords(9, 30);
    const raw = fetchResponse([{ name: 't', partitions: [{ partition: 0, records: Buffer.concat([await batch(records.slice(0, 15), { compression: CompressionTypes.LZ4 }), await batch(records.slice(15), { baseOffset: 15n, compression: CompressionTypes.GZIP })]) }] }]);
    const { ours, theirs, fellBack } = await bothWays(raw);
    expect(fellBack).toBe(false);
    expect(ours).toEqual(theirs);
  });

  it('transactional and control batches, log-append time, offsets past 2^53', async () => {
    const records = randomRecords(11, 6);
    const raw = fetchResponse([
      {
        name: 't',
        partitions: [
          { partition: 0, records: await batch(records, { transactional: true, baseOffset: 2n ** 60n + 5n }) },
          { partition: 1, records: await batch(records.slice(0, 1), { attributes: 0x20, baseOffset: 9n }) },
          { partition: 2, records: await batch(records, { attributes: 0x08, maxTimestamp: BigInt(NOW + 5) }) },
        ],
      },
    ]);
    const { ours, theirs, fellBack } = await bothWays(raw);
    expect(fellBack).toBe(false);
    expect(ours).toEqual(theirs);
    const partitions = (ours as { responses: Array<{ partitions: Array<{ messages: Array<{ offset: string; timestamp: string; isControlRecord: boolean }> }> }> }).responses[0]!.partitions;
    expect(partitions[0]!.messages[5]!.offset).toBe((2n ** 60n + 10n).toString());
    expect(partitions[1]!.messages[0]!.isControlRecord).toBe(true);
    expect(partitions[2]!.messages.map((m) => m.timestamp)).toEqual(Array(6).fill(String(NOW + 5)));
  });

  it('a batch cut short by the byte limit ends the partition, as in kafkajs', async () => {
    const records = randomRecords(13, 20);
    const whole = await batch(records.slice(0, 10));
    const next = await batch(records.slice(10), { baseOffset: 10n });
    for (const cut of [11, 60, next.length - 1]) {
      const raw = fetchResponse([{ name: 't', partitions: [{ partition: 0, records: Buffer.concat([whole, next.subarray(0, cut)]) }, { partition: 1, records: whole }] }]);
      const { ours, theirs, fellBack } = await bothWays(raw);
      expect(fellBack).toBe(false);
      expect(ours).toEqual(theirs);
      const partitions = (ours as { responses: Array<{ partitions: Array<{ messages: unknown[] }> }> }).responses[0]!.partitions;
      expect(partitions.map((p) => p.messages.length)).toEqual([10, 10]);
    }
  });

  it('leaves legacy message sets and records that do not add up to kafkajs', async () => {
    const records = randomRecords(17, 5);
    const legacy = await batch(records);
    legacy.writeInt8(1, 16); // magic 1: a MessageSet, which kafkajs reads itself
    const broken = await batch(records);
    broken.writeUInt8(0x7e, 61); // the first record's length varint now says 63 bytes, whatever follows
    for (const records of [legacy, broken]) {
      const raw = fetchResponse([{ name: 't', partitions: [{ partition: 0, records }] }]);
      const fallback = vi.fn(async () => 'kafkajs decoded it');
      await expect(decodeFetchResponse(raw, fallback)).resolves.toBe('kafkajs decoded it');
      expect(fallback).toHaveBeenCalledWith(raw);
    }
  });
});

describe('installFetchDecoder', () => {
  const build = (topics: string[]) => fetchProtocol.protocol({ version: 11 })({ topics: topics.map((topic) => ({ topic, partitions: [] })), maxWaitTime: 100 }).response;

  it('decodes only the fetches of a consumer run inside withFastFetch, whatever their topics', async () => {
    expect(installFetchDecoder()).toBe(true);
    expect(installFetchDecoder()).toBe(true); // idempotent
    expect(build(['fast-a']).decode).toBe(kafkajsV11.decode); // outside: kafkajs, even for a topic a worker reads
    await withFastFetch(async () => {
      expect(build(['fast-a', 'other']).decode).not.toBe(kafkajsV11.decode);
      // The scope holds across the awaits of a fetch loop, as it does for kafkajs's own.
      await new Promise((r) => setTimeout(r, 5));
      expect(build(['fast-b']).decode).not.toBe(kafkajsV11.decode);
      expect(build([]).decode).toBe(kafkajsV11.decode); // a fetch of nothing stays with kafkajs
      // A consumer started from inside (a handler's own client) opts back out.
      withFastFetch(() => expect(build(['fast-a']).decode).toBe(kafkajsV11.decode), false);
      const kafkajsV10 = require('kafkajs/src/protocol/requests/fetch/v10/response.js') as Response;
      expect(fetchProtocol.protocol({ version: 10 })({ topics: [{ topic: 'fast-a', partitions: [] }], maxWaitTime: 100 }).response.decode).toBe(kafkajsV10.decode);
    });
    expect(build(['fast-a']).decode).toBe(kafkajsV11.decode);
  });

  it('the routed response decodes as kafkajs does and keeps kafkajs parse', async () => {
    {
      const response = withFastFetch(() => build(['routed']));
      const raw = fetchResponse([{ name: 'routed', partitions: [{ partition: 0, records: await batch(randomRecords(21, 8)) }] }]);
      expect(await response.decode(raw)).toEqual(await kafkajsV11.decode(raw));
      expect(await response.parse(await response.decode(raw))).toEqual(await kafkajsV11.parse(await kafkajsV11.decode(raw)));
    }
  });
});
