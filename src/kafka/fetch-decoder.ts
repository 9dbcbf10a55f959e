import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { countSeam, hookKafkajsRequest, kafkajsSeam, refuseSeam } from './kafkajs-requests.js';
import { dropAbortedInResponse } from './read-committed.js';

/**
 * A one-pass decoder for Fetch responses (v11, the version kafkajs 2.2.4 uses with Kafka 2.3 and later) and the
 * record batches (magic v2) in them, for the consumers stream workers run.
 *
 * kafkajs decodes every record through a fresh Decoder over a slice of its bytes, turns the batch's first offset and
 * timestamp from decimal strings into 64-bit Longs and back for each record, and builds the headers object by
 * spreading it once per header: about 1.1 us per 1 KB record here, a tenth of what a worker spends per event.
 * This decoder walks the bytes once with plain integer arithmetic (offsets and timestamps stay numbers while they
 * are exact, BigInt past 2^53) and hands kafkajs the very objects its own decoder makes: the same fields, the same
 * values, the same shared batch context per batch (test/unit/kafka/fetch-decoder.test.ts compares them).
 *
 * It plugs into kafkajs at one point, the Fetch request's response decoder, and only for the fetches of consumers
 * that asked for it, by running inside withFastFetch (the worker runs its consumer there); every other fetch in the
 * process, of the same topics or not, is decoded by kafkajs as before. Whatever it does not take on itself, it leaves to kafkajs: a response with a legacy
 * message set (magic 0 or 1), a record that does not add up, any surprise. Then kafkajs decodes the whole response
 * again, and says what it says. Compressed batches go through kafkajs's codec table, as kafkajs would.
 */

const require = createRequire(import.meta.url);

const TIMESTAMP_TYPE_FLAG = 0x08;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const CREATE_TIME = 0;
const LOG_APPEND_TIME = 1;
/** kafkajs's RECORD_BATCH_OVERHEAD: it stops reading batches when fewer bytes than this are left. */
const BATCH_OVERHEAD = 49;
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** Thrown inside the decoder when kafkajs should decode the response instead; never leaves this module. */
class NotForUs extends Error {}

const notForUs = new NotForUs('left to kafkajs');

export interface FetchedMessage {
  magicByte: number;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | Array<Buffer | null>>;
  isControlRecord: boolean;
  batchContext: BatchContext;
}

interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  magicByte: number;
}

interface Codec {
  decompress(buffer: Buffer): Promise<Buffer>;
}
type CodecLookup = (attributes: number) => Codec | null;

/** A cursor over one buffer. Every read is bounds-checked against `end`; running past it means "not for us". */
class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw notForUs;
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  string(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    this.need(length);
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }
  /** A zig-zag varint as kafkajs reads it: up to 32 bits. */
  varint(): number {
    let raw = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end || shift > 28) throw notForUs;
      const b = this.buf[this.pos++]!;
      raw |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    return (raw >>> 1) ^ -(raw & 1);
  }
  /** A zig-zag varlong, as a number: timestamp deltas beyond 2^53 ms are not timestamps. */
  varlong(): number {
    let raw = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end || scale > 2 ** 42) throw notForUs; // 7 bytes: 2^49 ms, beyond any timestamp
      const b = this.buf[this.pos++]!;
      raw += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 128;
    }
    // zig-zag without 32-bit operators: even -> n / 2, odd -> -(n + 1) / 2
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }
  bytes(): Buffer | null {
    const length = this.varint();
    if (length === -1) return null;
    this.need(length);
    const b = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return b;
  }
}

/** first + delta as kafkajs's Long arithmetic would print it. */
function add(first: bigint, firstNumber: number | undefined, delta: number): string {
  return firstNumber === undefined ? (first + BigInt(delta)).toString() : String(firstNumber + delta);
}
const exact = (v: bigint): number | undefined => (v <= MAX_EXACT && v >= -MAX_EXACT ? Number(v) : undefined);

function readRecords(r: Reader, count: number, context: BatchContext, first: { offset: bigint; offsetNumber: number | undefined; timestamp: bigint; timestampNumber: number | undefined }): FetchedMessage[] {
  if (count < 0) throw notForUs;
  const messages = new Array<FetchedMessage>(count);
  const logAppend = context.timestampType === LOG_APPEND_TIME;
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    r.need(length);
    const end = r.pos + length;
    const record = new Reader(r.buf, r.pos, end);
    const attributes = record.int8();
    const timestampDelta = record.varlong();
    const offsetDelta = record.varint();
    const key = record.bytes();
    const value = record.bytes();
    const headerCount = record.varint();
    let headers: FetchedMessage['headers'] = {};
    if (headerCount > 0) headers = readHeaders(record, headerCount);
    r.pos = end;
    messages[i] = {
      magicByte: 2,
      attributes,
      timestamp: logAppend ? context.maxTimestamp : add(first.timestamp, first.timestampNumber, timestampDelta),
      offset: add(first.offset, first.offsetNumber, offsetDelta),
      key,
      value,
      headers,
      isControlRecord: context.isControlBatch,
      batchContext: context,
    };
  }
  return messages;
}

/** Repeated keys collect their values in an array, in order, as kafkajs does. */
function readHeaders(r: Reader, count: number): FetchedMessage['headers'] {
  const headers: FetchedMessage['headers'] = {};
  for (let i = 0; i < count; i++) {
    const keyBytes = r.bytes();
    const key = keyBytes === null ? 'null' : keyBytes.toString('utf8'); // kafkajs spreads a null key in as "null"
    const value = r.bytes();
    const seen = headers[key];
    headers[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return headers;
}

async function readBatch(r: Reader, lookupCodec: CodecLookup): Promise<FetchedMessage[] | undefined> {
  const firstOffset = r.int64();
  const length = r.int32();
  if (r.pos + length > r.end) return undefined; // the fetch's byte limit cut this batch: kafkajs stops here too
  const batchEnd = r.pos + length;
  const b = new Reader(r.buf, r.pos, batchEnd);
  r.pos = batchEnd;
  const partitionLeaderEpoch = b.int32();
  const magicByte = b.int8();
  if (magicByte !== 2) throw notForUs;
  b.int32(); // CRC: kafkajs does not check it either; the broker did when the batch was written
  const attributes = b.int16();
  const lastOffsetDelta = b.int32();
  const firstTimestamp = b.int64();
  const maxTimestamp = b.int64();
  const producerId = b.int64();
  const producerEpoch = b.int16();
  const firstSequence = b.int32();
  const count = b.int32();
  const isControlBatch = (attributes & CONTROL_FLAG) > 0;
  const context: BatchContext = {
    firstOffset: firstOffset.toString(),
    firstTimestamp: firstTimestamp.toString(),
    partitionLeaderEpoch,
    inTransaction: (attributes & TRANSACTIONAL_FLAG) > 0,
    isControlBatch,
    lastOffsetDelta,
    producerId: producerId.toString(),
    producerEpoch,
    firstSequence,
    maxTimestamp: maxTimestamp.toString(),
    timestampType: (attributes & TIMESTAMP_TYPE_FLAG) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
    magicByte,
  };
  const first = { offset: firstOffset, offsetNumber: exact(firstOffset), timestamp: firstTimestamp, timestampNumber: exact(firstTimestamp) };
  const codec = lookupCodec(attributes);
  if (!codec) return count === -1 ? [] : readRecords(b, count, context, first);
  if (count <= 0) return [];
  const records = await codec.decompress(b.buf.subarray(b.pos, batchEnd));
  return readRecords(new Reader(records, 0, records.length), count, context, first);
}

async function readMessages(r: Reader, lookupCodec: CodecLookup): Promise<FetchedMessage[]> {
  const size = r.int32();
  if (size <= 0) return [];
  if (r.pos + size > r.end) throw notForUs; // a response cut short: kafkajs's way of reading on is its own
  const end = r.pos + size;
  const set = new Reader(r.buf, r.pos, end);
  r.pos = end;
  // The magic byte sits at the same place in every message format; kafkajs decides by the first one, as here.
  if (set.end - set.pos > 16 && set.buf.readInt8(set.pos + 16) !== 2) throw notForUs;
  const messages: FetchedMessage[] = [];
  while (set.end - set.pos >= BATCH_OVERHEAD) {
    const batch = await readBatch(set, lookupCodec);
    if (batch === undefined) break;
    for (let i = 0; i < batch.length; i++) messages.push(batch[i]!);
  }
  return messages;
}

async function readArray<T>(r: Reader, item: (r: Reader) => T | Promise<T>): Promise<T[]> {
  const n = r.int32();
  if (n === -1) return [];
  if (n < 0) throw notForUs;
  const items: T[] = [];
  for (let i = 0; i < n; i++) items.push(await item(r));
  return items;
}

/** Fetch v11 response bytes -> what kafkajs's v11 `decode` returns; throws NotForUs when kafkajs should do it. */
async function decodeV11(raw: Buffer, lookupCodec: CodecLookup): Promise<unknown> {
  const r = new Reader(raw, 0, raw.length);
  const clientSideThrottleTime = r.int32();
  const errorCode = r.int16();
  const sessionId = r.int32();
  const responses = await readArray(r, async (t) => ({
    topicName: t.string(),
    partitions: await readArray(t, async (p) => ({
      partition: p.int32(),
      errorCode: p.int16(),
      highWatermark: p.int64().toString(),
      lastStableOffset: p.int64().toString(),
      lastStartOffset: p.int64().toString(),
      abortedTransactions: await readArray(p, (a) => ({ producerId: a.int64().toString(), firstOffset: a.int64().toString() })),
      preferredReadReplica: p.int32(),
      messages: await readMessages(p, lookupCodec),
    })),
  }));
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}

type Response = { decode(raw: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> };
interface FetchArgs {
  topics?: ReadonlyArray<{ topic: string }>;
}

/**
 * Decodes a Fetch v11 response as kafkajs does, faster: the same result, or kafkajs's own decoder's when this one
 * leaves the response to it. `kafkaDecode` is kafkajs's decoder for the response (the fallback).
 */
export async function decodeFetchResponse(raw: Buffer, kafkaDecode: (raw: Buffer) => Promise<unknown>): Promise<unknown> {
  try {
    const decoded = await decodeV11(raw, codecLookup());
    countSeam('fetch', 'fast');
    return decoded;
  } catch (error) {
    if (!(error instanceof NotForUs)) throw error;
    // Started here, handed back: a response with something this decoder does not read (the seam's fallback).
    countSeam('fetch', 'fallbacks');
    return kafkaDecode(raw);
  }
}

/**
 * Fetch responses of opted-in topics decoded here, and ones this decoder handed back to kafkajs, since the process
 * started: the fetch side of kafkajsSeam() (fast and fallbacks), not a second count.
 */
export function fetchDecoderStats(): { decoded: number; leftToKafkajs: number } {
  const s = kafkajsSeam().fetch;
  return { decoded: s.fast, leftToKafkajs: s.fallbacks };
}

let lookup: CodecLookup | undefined;
function codecLookup(): CodecLookup {
  return (lookup ??= (require('kafkajs/src/protocol/message/compression/index.js') as { lookupCodecByAttributes: CodecLookup }).lookupCodecByAttributes);
}

/**
 * The consumers whose fetches are decoded here, as an async context: kafkajs builds each Fetch request inside the
 * consumer's own fetch loop, which starts in consumer.run() and keeps that call's async context. So the request knows
 * which client asked for it without a name of its own, and another consumer of the same topic in the process (a
 * plain kafkajs one, a tool's) is left to kafkajs.
 */
const fastFetchScope = new AsyncLocalStorage<boolean>();

/**
 * Runs `fn` (a consumer's run(), or whatever starts its fetch loop) so that the fetches made from inside it are
 * decoded here (once installFetchDecoder succeeded); `enabled` false opts a nested consumer back out.
 */
export function withFastFetch<T>(fn: () => T, enabled = true): T {
  return fastFetchScope.run(enabled, fn);
}

function askedForFast(args: FetchArgs): boolean {
  return fastFetchScope.getStore() === true && (args.topics?.length ?? 0) > 0;
}

/**
 * Routes kafkajs's Fetch v11 responses of the consumers run inside withFastFetch through this decoder. Process-wide and
 * idempotent; returns false (and changes nothing) when this kafkajs does not have the module layout this was written
 * against, in which case kafkajs decodes everything itself.
 */
export function installFetchDecoder(): boolean {
  try {
    codecLookup();
  } catch (err) {
    return refuseSeam('fetch', `kafkajs's compression codec table cannot be loaded: ${(err as Error).message}`);
  }
  return hookKafkajsRequest<FetchArgs, { response: Response }>(
    'fetch',
    (version) => version === 11,
    (built, args) => {
      const stock = built.response;
      // Every consumer's fetch, fast or not: aborted transactions dropped correctly (src/kafka/read-committed.ts).
      const parse = async (data: unknown) => dropAbortedInResponse(await stock.parse(data));
      if (!askedForFast(args)) {
        countSeam('fetch', 'leftToKafkajs');
        return { ...built, response: { decode: stock.decode, parse } };
      }
      return { ...built, response: { decode: (raw: Buffer) => decodeFetchResponse(raw, (bytes) => stock.decode(bytes)), parse } };
    },
  );
}
