import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { logger } from '../logging/index.js';
import { countSeam, hookKafkajsRequest } from './kafkajs-requests.js';

/**
 * A one-pass encoder for Kafka record batches (magic v2) and the Produce request that carries them.
 *
 * kafkajs 2.2.4 encodes every record through a chain of small Encoder objects: one 512-byte zero-filled buffer per
 * record and per header, a regrowth and copy for every value over 512 bytes, 64-bit arithmetic through BigInt for
 * each timestamp delta, and a byte-at-a-time CRC-32C in JavaScript (about 2.4 ms per MB here). For 1 KB events with
 * three headers that was most of the producer's CPU (bench/producer.ts). This encoder measures the batch once,
 * allocates one buffer, writes every field in place and takes the CRC-32C from a native implementation when one is
 * installed (@node-rs/crc32: SSE4.2/ARMv8 instructions, 0.05 ms per MB), else kafkajs's own.
 *
 * It plugs into kafkajs at one point: the Produce request's `encode`. Only records that opt in (a message object
 * carrying FAST_RECORD, as every OnexProducer record does) take this path; everything else a process sends through
 * kafkajs is encoded by kafkajs as before. The bytes are the same ones kafkajs writes for the same input
 * (test/unit/kafka/record-batch.test.ts compares them byte for byte), so the broker's answer is parsed by kafkajs's
 * own response decoder, and idempotence (producer id, epoch, first sequence) comes from kafkajs unchanged.
 */

/** Set `[FAST_RECORD]: true` on a kafkajs message to have it encoded here. */
export const FAST_RECORD: unique symbol = Symbol.for('onex-events.fast-record');

type Bytes = Buffer | string | null | undefined;
type HeaderValue = Bytes | ReadonlyArray<Buffer | string>;

export interface RecordInput {
  readonly key?: Bytes;
  readonly value: Bytes;
  readonly headers?: Readonly<Record<string, HeaderValue>> | undefined;
  /** Milliseconds since the epoch; kafkajs's type says string, numbers are taken too. */
  readonly timestamp?: string | number | undefined;
  readonly [FAST_RECORD]?: boolean;
}

/** What kafkajs hands around as a 64-bit integer: its Long (a bigint wrapper), a decimal string, a number. */
type LongLike = { readonly value: bigint } | string | number | bigint | undefined;

export interface RecordBatchInput {
  readonly records: readonly RecordInput[];
  /** kafkajs's CompressionTypes; the codec comes from kafkajs's CompressionCodecs table. */
  readonly compression?: number;
  readonly producerId?: LongLike;
  readonly producerEpoch?: number;
  readonly firstSequence?: number;
  readonly transactional?: boolean;
  /** For records without a timestamp; Date.now() when not given. */
  readonly now?: number;
}

const require = createRequire(import.meta.url);

type Crc32c = (data: Buffer) => number;
let crcImplementation: 'native' | 'javascript' = 'native';
/** The native CRC-32C when its prebuilt binary is installed for this platform, else kafkajs's JavaScript one. */
const crc32c: Crc32c = (() => {
  try {
    const native = require('@node-rs/crc32') as { crc32c(data: Buffer, initial?: number): number };
    return (data: Buffer) => native.crc32c(data);
  } catch {
    crcImplementation = 'javascript';
    return require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as Crc32c;
  }
})();

/** Which CRC-32C implementation batches are checksummed with. */
export function crc32cImplementation(): 'native' | 'javascript' {
  return crcImplementation;
}

const TRANSACTIONAL_FLAG = 0x10;
const COMPRESSION_MASK = 0x07;
/** Bytes from the batch's attributes to its record count: what the CRC covers before the records. */
const BATCH_FIELDS_AFTER_CRC = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** baseOffset, batchLength, partitionLeaderEpoch, magic, crc. */
const BATCH_PREFIX = 8 + 4 + 4 + 1 + 4;

/** Size of a zig-zag varint of a signed 32-bit value. */
function sizeOfVarInt(value: number): number {
  let v = (value << 1) ^ (value >> 31);
  let n = 1;
  while ((v & 0xffffff80) !== 0) {
    n++;
    v >>>= 7;
  }
  return n;
}

function writeVarInt(buf: Buffer, offset: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while ((v & 0xffffff80) !== 0) {
    buf[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[offset++] = v;
  return offset;
}

/** Zig-zag of a value within Number's safe integer range (timestamp deltas), as a non-negative Number. */
function zigZag64(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function sizeOfVarLong(value: number): number {
  let v = zigZag64(value);
  let n = 1;
  while (v >= 0x80) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}

function writeVarLong(buf: Buffer, offset: number, value: number): number {
  let v = zigZag64(value);
  while (v >= 0x80) {
    buf[offset++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[offset++] = v;
  return offset;
}

function byteLength(b: Bytes): number {
  if (b === null || b === undefined) return -1;
  return typeof b === 'string' ? Buffer.byteLength(b, 'utf8') : b.length;
}

function sizeOfBytes(b: Bytes): number {
  const n = byteLength(b);
  return n < 0 ? 1 : sizeOfVarInt(n) + n;
}

/**
 * Copies `b` into `buf` at `offset`. TypedArray#set, measured against a copy by hand and Buffer#copy on Node 20 for
 * the 3-60 byte header names and values a record carries: 26 against 38 and 31 ns per copy.
 */
function copyBytes(buf: Buffer, offset: number, b: Buffer): number {
  buf.set(b, offset);
  return offset + b.length;
}

/**
 * Writes a string as UTF-8 (what kafkajs writes for a string key, value or header). An ASCII string (ids, timestamps,
 * trace contexts) is written as Latin-1, the same bytes through Node's cheaper single-byte path.
 */
function writeUtf8(buf: Buffer, offset: number, s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  offset = writeVarInt(buf, offset, n);
  // As many bytes as UTF-16 units: every unit is ASCII.
  return offset + buf.write(s, offset, n, n === s.length ? 'latin1' : 'utf8');
}

function writeBytes(buf: Buffer, offset: number, b: Bytes): number {
  if (b === null || b === undefined) return writeVarInt(buf, offset, -1);
  if (typeof b === 'string') return writeUtf8(buf, offset, b);
  return copyBytes(buf, writeVarInt(buf, offset, b.length), b);
}

/**
 * Header names as they go on the wire (length varint and UTF-8 bytes), made once per name: a producer writes the same
 * dozen names on every record. Bounded, so a client that invents names does not grow it without limit.
 */
const HEADER_NAMES = new Map<string, Buffer>();
const HEADER_NAME_LIMIT = 1024;

function headerName(key: string): Buffer {
  let framed = HEADER_NAMES.get(key);
  if (framed === undefined) {
    const n = Buffer.byteLength(key, 'utf8');
    framed = Buffer.allocUnsafe(sizeOfVarInt(n) + n);
    framed.write(key, writeVarInt(framed, 0, n), n, 'utf8');
    if (HEADER_NAMES.size < HEADER_NAME_LIMIT) HEADER_NAMES.set(key, framed);
  }
  return framed;
}

/** Header entries of the record measured last (array values count one entry each, as kafkajs sends them). */
let measuredHeaderCount = 0;

/** The encoded size of a record's headers, their count varint included; the count is left in measuredHeaderCount. */
function measureHeaders(headers: RecordInput['headers']): number {
  let count = 0;
  let size = 0;
  if (headers) {
    for (const key of Object.keys(headers)) {
      const v = headers[key];
      const keySize = headerName(key).length;
      if (Array.isArray(v)) {
        for (const item of v as ReadonlyArray<Buffer | string>) {
          count++;
          size += keySize + sizeOfBytes(item);
        }
      } else {
        count++;
        size += keySize + sizeOfBytes(v as Bytes);
      }
    }
  }
  measuredHeaderCount = count;
  return size + sizeOfVarInt(count);
}

function writeHeaders(buf: Buffer, offset: number, headers: RecordInput['headers'], count: number): number {
  offset = writeVarInt(buf, offset, count);
  if (!headers) return offset;
  for (const key of Object.keys(headers)) {
    const v = headers[key];
    const name = headerName(key);
    if (Array.isArray(v)) {
      for (const item of v as ReadonlyArray<Buffer | string>) {
        offset = copyBytes(buf, offset, name);
        offset = writeBytes(buf, offset, item);
      }
    } else {
      offset = copyBytes(buf, offset, name);
      offset = writeBytes(buf, offset, v as Bytes);
    }
  }
  return offset;
}

function writeRecord(buf: Buffer, offset: number, r: RecordInput, bodySize: number, offsetDelta: number, timestampDelta: number, headerCount: number): number {
  offset = writeVarInt(buf, offset, bodySize);
  buf[offset++] = 0; // record attributes: none defined
  offset = writeVarLong(buf, offset, timestampDelta);
  offset = writeVarInt(buf, offset, offsetDelta);
  offset = writeBytes(buf, offset, r.key);
  offset = writeBytes(buf, offset, r.value);
  return writeHeaders(buf, offset, r.headers, headerCount);
}

function toBigInt(v: LongLike, fallback: bigint): bigint {
  if (v === undefined) return fallback;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' || typeof v === 'string') return BigInt(v);
  return v.value;
}

interface MeasuredRecords {
  /** Per record: its body size (after its own length varint). */
  readonly bodies: Int32Array;
  readonly headerCounts: Int32Array;
  readonly deltas: Float64Array;
  readonly size: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
}

function measureRecords(records: readonly RecordInput[], now: number): MeasuredRecords {
  // As kafkajs: records without a timestamp take `now`; the batch's first and max timestamps span the given ones.
  let first = Infinity;
  let max = -Infinity;
  let anyTimestamp = false;
  for (const r of records) {
    if (r.timestamp === undefined || r.timestamp === null) continue;
    const t = Number(r.timestamp);
    anyTimestamp = true;
    if (t < first) first = t;
    if (t > max) max = t;
  }
  if (!anyTimestamp) first = max = now;
  const bodies = new Int32Array(records.length);
  const headerCounts = new Int32Array(records.length);
  const deltas = new Float64Array(records.length);
  let size = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const delta = (r.timestamp === undefined || r.timestamp === null ? now : Number(r.timestamp)) - first;
    const headerSize = measureHeaders(r.headers);
    const body = 1 + sizeOfVarLong(delta) + sizeOfVarInt(i) + sizeOfBytes(r.key) + sizeOfBytes(r.value) + headerSize;
    deltas[i] = delta;
    headerCounts[i] = measuredHeaderCount;
    bodies[i] = body;
    size += sizeOfVarInt(body) + body;
  }
  return { bodies, headerCounts, deltas, size, firstTimestamp: first, maxTimestamp: max };
}

function writeRecords(buf: Buffer, offset: number, records: readonly RecordInput[], m: MeasuredRecords): number {
  for (let i = 0; i < records.length; i++) offset = writeRecord(buf, offset, records[i]!, m.bodies[i]!, i, m.deltas[i]!, m.headerCounts[i]!);
  return offset;
}

/** The compressed records, through the codec kafkajs would use (our LZ4 one once registered). */
async function compressRecords(compression: number, records: readonly RecordInput[], m: MeasuredRecords): Promise<Buffer> {
  const codecFactory = (kafkajs.CompressionCodecs as Record<number, (() => { compress(e: { buffer: Buffer }): Promise<Buffer> }) | undefined>)[compression];
  if (!codecFactory) throw new Error(`no kafkajs codec is registered for compression type ${compression}`);
  const plain = Buffer.allocUnsafe(m.size);
  writeRecords(plain, 0, records, m);
  return codecFactory().compress({ buffer: plain });
}

/** Bytes of one record batch, laid out after `prefix` reserved bytes (for the caller's own framing). */
export async function encodeRecordBatch(input: RecordBatchInput, prefix = 0): Promise<Buffer> {
  const { records } = input;
  const compression = (input.compression ?? 0) & COMPRESSION_MASK;
  const m = measureRecords(records, input.now ?? Date.now());
  const compressed = compression === 0 ? undefined : await compressRecords(compression, records, m);
  const recordsSize = compressed ? compressed.length : m.size;
  const total = BATCH_PREFIX + BATCH_FIELDS_AFTER_CRC + recordsSize;
  const buf = Buffer.allocUnsafe(prefix + total);
  let o = prefix;
  o = buf.writeBigInt64BE(0n, o); // baseOffset: the broker assigns it
  o = buf.writeInt32BE(total - 12, o); // batchLength: everything after this field
  o = buf.writeInt32BE(0, o); // partitionLeaderEpoch, as kafkajs writes it
  o = buf.writeInt8(2, o); // magic
  const crcAt = o;
  o += 4;
  const attributes = compression | (input.transactional ? TRANSACTIONAL_FLAG : 0);
  o = buf.writeInt16BE(attributes, o);
  o = buf.writeInt32BE(records.length - 1, o); // lastOffsetDelta
  o = buf.writeBigInt64BE(BigInt(m.firstTimestamp), o);
  o = buf.writeBigInt64BE(BigInt(m.maxTimestamp), o);
  o = buf.writeBigInt64BE(toBigInt(input.producerId, -1n), o);
  o = buf.writeInt16BE(input.producerEpoch ?? 0, o);
  o = buf.writeInt32BE(input.firstSequence ?? 0, o);
  o = buf.writeInt32BE(records.length, o);
  if (compressed) {
    compressed.copy(buf, o);
    o += compressed.length;
  } else {
    o = writeRecords(buf, o, records, m);
  }
  if (o !== buf.length) throw new Error(`record batch encoder wrote ${o - prefix} bytes of ${total} measured`);
  buf.writeUInt32BE(crc32c(buf.subarray(crcAt + 4)) >>> 0, crcAt);
  return buf;
}

interface ProduceArgs {
  readonly acks: number;
  readonly timeout: number;
  readonly compression?: number;
  readonly transactionalId?: string | null;
  readonly producerId?: LongLike;
  readonly producerEpoch?: number;
  readonly topicData: ReadonlyArray<{
    readonly topic: string;
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly firstSequence?: number; readonly messages: readonly RecordInput[] }>;
  }>;
}

/** An object kafkajs's request framing accepts as an encoded payload (it reads `buf` and `buffer`). */
interface EncodedPayload {
  readonly buf: Buffer;
  readonly buffer: Buffer;
  size(): number;
}

function payload(buf: Buffer): EncodedPayload {
  return { buf, buffer: buf, size: () => buf.length };
}

function writeString(parts: Buffer[], s: string | null | undefined): void {
  if (s === null || s === undefined) {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(-1, 0);
    parts.push(b);
    return;
  }
  const n = Buffer.byteLength(s, 'utf8');
  const b = Buffer.allocUnsafe(2 + n);
  b.writeInt16BE(n, 0);
  b.write(s, 2, n, 'utf8');
  parts.push(b);
}

/**
 * The body of a Produce request, versions 3 to 7 (one layout): transactional id, acks, timeout, then per topic and
 * partition the record set as bytes. Each partition's batch is built with room for its partition and size fields.
 */
export async function encodeProduceRequest(args: ProduceArgs): Promise<EncodedPayload> {
  const parts: Buffer[] = [];
  writeString(parts, args.transactionalId ?? null);
  const head = Buffer.allocUnsafe(10);
  head.writeInt16BE(args.acks, 0);
  head.writeInt32BE(args.timeout, 2);
  head.writeInt32BE(args.topicData.length, 6);
  parts.push(head);
  const now = Date.now();
  for (const t of args.topicData) {
    writeString(parts, t.topic);
    const count = Buffer.allocUnsafe(4);
    count.writeInt32BE(t.partitions.length, 0);
    parts.push(count);
    for (const p of t.partitions) {
      const batch = await encodeRecordBatch(
        {
          records: p.messages,
          compression: args.compression,
          producerId: args.producerId,
          producerEpoch: args.producerEpoch,
          firstSequence: p.firstSequence,
          transactional: !!args.transactionalId,
          now,
        },
        8,
      );
      batch.writeInt32BE(p.partition, 0);
      batch.writeInt32BE(batch.length - 8, 4);
      parts.push(batch);
    }
  }
  return payload(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
}

function allOptedIn(args: ProduceArgs): boolean {
  for (const t of args.topicData) {
    for (const p of t.partitions) {
      if (p.messages.length === 0) return false;
      for (const m of p.messages) if (m[FAST_RECORD] !== true) return false;
    }
  }
  return args.topicData.length > 0;
}

type ProduceBuilt = { request: { encode(): Promise<unknown> } };

const log = logger('kafka');

/**
 * Routes kafkajs Produce requests (v3 to v7, the record-batch ones) whose records all opted in through
 * encodeProduceRequest. Process-wide and idempotent; returns false (and changes nothing) when this kafkajs does not
 * have the module layout this was written against, in which case kafkajs encodes everything itself.
 */
export function installRecordBatchEncoder(): boolean {
  return hookKafkajsRequest<ProduceArgs, ProduceBuilt>(
    'produce',
    (version) => version >= 3 && version <= 7,
    (built, args) => {
      if (!allOptedIn(args)) {
        countSeam('produce', 'leftToKafkajs');
        return built;
      }
      const stock = built.request.encode.bind(built.request);
      built.request.encode = async () => {
        try {
          const encoded = await encodeProduceRequest(args);
          countSeam('produce', 'fast');
          return encoded;
        } catch (err) {
          // Our encoder failing is our bug, not a transient broker error: the batch goes out through kafkajs's own
          // encoder (the messages are plain kafkajs messages) instead of being retried until the delivery timeout.
          countSeam('produce', 'fallbacks');
          log.error({ err: (err as Error).message }, 'the record batch encoder failed; this batch is encoded by kafkajs instead');
          return stock();
        }
      };
      return built;
    },
  );
}
