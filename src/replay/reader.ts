import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { asOnexError, onexError, type OnexError } from '../errors/index.js';
import type { SchemaVersion } from '../event/index.js';
import type { DecodedEvent, EventDecoder } from '../codec/index.js';
import { transformEvent } from '../schema/index.js';
import { findEnvelopes, type RecordSecurity } from '../security/index.js';
import type { PartitionRange, ReadEvent } from './types.js';

/**
 * Reads offset ranges of a topic's partitions through the codec's decode + upcast (the worker's path), so what a
 * replay emits is in the target version whatever version the producer wrote. kafkajs has no manual assignment, so
 * the read uses a short-lived consumer group of its own that commits nothing; a partition outside the ranges is
 * sought to its end and reads nothing.
 */

export type { PartitionRange, ReadEvent } from './types.js';

export interface ReadResult {
  /** Records fetched from the broker (read, whether kept or not). */
  recordsRead: number;
  /** Records that did not decode: counted by code and skipped. */
  skipped: Record<string, number>;
}

/**
 * Calls `each` for every record of the ranges, in offset order per partition, and resolves once every range was read
 * to its end (or the signal fired). Returns the number of records read. Nothing is decoded here.
 */
export async function scanRanges(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  each: (partition: number, message: KafkaMessage) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<number> {
  let read = 0;
  const wanted = new Map(ranges.filter((r) => r.to > r.from).map((r) => [r.partition, r]));
  if (wanted.size === 0) return read;

  const admin = kafka.admin();
  await admin.connect();
  const highs = new Map<number, string>();
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) highs.set(p.partition, p.high);
  } finally {
    await admin.disconnect();
  }

  const consumer = kafka.consumer({ groupId: `onex-replay-read-${randomUUID()}`, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  const remaining = new Set(wanted.keys());
  let finish!: () => void;
  let fail!: (e: OnexError) => void;
  const finished = new Promise<void>((res, rej) => {
    finish = res;
    fail = rej;
  });
  const onAbort = () => finish();
  signal?.addEventListener('abort', onAbort, { once: true });
  const reached = (partition: number, offset: string) => {
    const range = wanted.get(partition);
    if (!range || !remaining.has(partition) || BigInt(offset) + 1n < range.to) return;
    remaining.delete(partition);
    if (remaining.size === 0) finish();
  };
  // A range can end in transaction markers (a topic a processor writes) or in a gap a compaction left: no record
  // at range.to - 1 reaches eachBatch then. A batch with records (firstOffset set, markers included) reports here how
  // far the fetch got; a fetch with no records at all reports the high watermark - 1 as its last offset, so it
  // says nothing and is ignored.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    if (e.payload.topic !== topic || e.payload.firstOffset === null || e.payload.firstOffset === undefined) return;
    reached(e.payload.partition, e.payload.lastOffset);
  });
  // Where each wanted partition goes on from: the range start, then one past the last record handed to `each`.
  const next = new Map<number, bigint>([...wanted].map(([partition, r]) => [partition, r.from]));
  // The seeks go in on every group join, not once after run(): a consumer that crashes while joining (a new
  // broker's coordinator not ready yet) restarts with a new group, and kafkajs drops a seek made before that (or
  // throws "consumer#run must be called first" for one made in between). Seeking to `next` again after a restart or
  // rebalance neither repeats nor skips a record.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [partition, high] of highs) consumer.seek({ topic, partition, offset: (next.get(partition) ?? high).toString() });
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(asOnexError(e.payload.error, 'ONEX_EVENT_600', `replay read stopped: ${e.payload.error.message}`));
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      // Nothing is committed, but the batch is resolved: kafkajs fetches the next batch from the last resolved
      // offset, so an unresolved batch comes back again and again and a range longer than one fetch never ends.
      autoCommit: false,
      eachBatch: async ({ batch, isRunning, isStale }) => {
        const range = wanted.get(batch.partition);
        if (!range || !remaining.has(batch.partition)) return;
        for (const m of batch.messages) {
          if (!isRunning() || isStale() || signal?.aborted) return;
          const offset = BigInt(m.offset);
          if (offset < next.get(batch.partition)!) continue;
          if (offset >= range.to) break;
          read++;
          const r = each(batch.partition, m);
          if (r) await r;
          next.set(batch.partition, offset + 1n);
          if (offset + 1n >= range.to) break;
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last) reached(batch.partition, last.offset);
      },
    });
    await finished;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect();
  }
  return read;
}

/**
 * One record through the worker's path: decode + upcast to the target version; with `security`, decoded in the
 * version it was written in, verified and decrypted there (RecordSecurity.check, the worker's verify stage), then
 * upcast or downcast (an encrypted 2.0.0 event cannot be downcast before its fields are decrypted). Also says which
 * metadata paths held ciphertext envelopes as written. Throws the ONEX error of a record that does not read.
 */
export async function decodeRecord(
  decoder: EventDecoder,
  value: Buffer,
  headers: KafkaMessage['headers'],
  targetVersion: SchemaVersion,
  security?: RecordSecurity,
): Promise<{ decoded: DecodedEvent<object>; encrypted: readonly string[] }> {
  if (security === undefined) {
    const decoded = await decoder.decode(value, targetVersion);
    return { decoded, encrypted: findEnvelopes(decoded.event as never).map((f) => f.path) };
  }
  const written = decoder.decodeWritten !== undefined;
  const d = written ? await decoder.decodeWritten!(value) : await decoder.decode(value, targetVersion);
  const event = d.event as { event_id: string; event_type: string; node_id?: string };
  const encrypted = findEnvelopes(event).map((f) => f.path);
  const checked = await security.check(value, headers, event, d.writerVersion);
  const inTarget = written && d.writerVersion !== targetVersion ? transformEvent(checked as never, targetVersion) : checked;
  return { decoded: { ...d, event: inTarget }, encrypted };
}

/**
 * Reads the ranges through decode + upcast to the target version (with `security`, verified and decrypted as the
 * worker does: decodeRecord); `keep` says which decoded events to return. A record that does not read is counted
 * by its code in `skipped` and the read goes on.
 */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  decoder: EventDecoder,
  targetVersion: SchemaVersion,
  keep: (e: ReadEvent) => boolean,
  signal?: AbortSignal,
  security?: RecordSecurity,
): Promise<{ events: ReadEvent[] } & ReadResult> {
  const events: ReadEvent[] = [];
  const skipped: Record<string, number> = {};
  const recordsRead = await scanRanges(
    kafka,
    topic,
    ranges,
    async (partition, m) => {
      if (!m.value) return;
      try {
        const { decoded: d, encrypted } = await decodeRecord(decoder, m.value, m.headers, targetVersion, security);
        const read: ReadEvent = { event: d.event as Record<string, unknown>, writerVersion: d.writerVersion, partition, offset: m.offset, recordTimeMs: Number(m.timestamp) };
        if (encrypted.length > 0) read.encrypted = encrypted;
        if (keep(read)) events.push(read);
      } catch (err) {
        const code = asOnexError(err, 'ONEX_EVENT_603').code;
        skipped[code] = (skipped[code] ?? 0) + 1;
      }
    },
    signal,
  );
  return { events, recordsRead, skipped };
}

/** Per-partition ranges of a topic from its low to its high watermark (what has to be scanned without an index). */
export async function wholeTopic(kafka: Kafka, topic: string, partitions?: readonly number[]): Promise<PartitionRange[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) throw onexError('ONEX_CLI_300', `there is no topic ${topic}`);
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .filter((p) => partitions === undefined || partitions.includes(p.partition))
      .map((p) => ({ partition: p.partition, from: BigInt(p.low), to: BigInt(p.high) }));
  } finally {
    await admin.disconnect();
  }
}

/**
 * The ranges holding records with timestamps in [fromMs, toMs): the broker's offsets for times (ListOffsets by
 * timestamp) at both edges. Record timestamps within a partition need not rise (producer clocks differ), so the
 * replay still checks each record's own timestamp against the range (see keepInTimeRange).
 */
export async function timeRanges(kafka: Kafka, topic: string, fromMs: number, toMs: number): Promise<PartitionRange[]> {
  const whole = await wholeTopic(kafka, topic);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const starts = await admin.fetchTopicOffsetsByTimestamp(topic, fromMs);
    const ends = await admin.fetchTopicOffsetsByTimestamp(topic, toMs);
    const high = new Map(whole.map((r) => [r.partition, r]));
    // -1: no record at or after that time, so the range runs to the end of the partition.
    const at = (offset: string, partition: number) => (offset === '-1' ? high.get(partition)!.to : BigInt(offset));
    const endBy = new Map(ends.map((e) => [e.partition, at(e.offset, e.partition)]));
    return starts.map((s) => ({ partition: s.partition, from: at(s.offset, s.partition), to: endBy.get(s.partition) ?? high.get(s.partition)!.to }));
  } finally {
    await admin.disconnect();
  }
}

/** The record-timestamp check at the edges of a time range. */
export function inTimeRange(e: ReadEvent, fromMs: number, toMs: number): boolean {
  return e.recordTimeMs >= fromMs && e.recordTimeMs < toMs;
}
