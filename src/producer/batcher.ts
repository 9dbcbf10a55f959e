import type { OnexError } from '../errors/index.js';
import type { FAST_RECORD } from '../kafka/index.js';

/**
 * kafkajs sets compression per send() call, so events travel in two lanes, each batched on its own: 'plain' for
 * events up to the compression threshold, 'lz4' for larger ones.
 */
export type Lane = 'plain' | 'lz4';

/** What kafkajs gets for one record. A string key or header value is written as its UTF-8 bytes. */
export interface KafkaMessage {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Record<string, Buffer | string>;
  /** Kafka's murmur2 of the key, computed once (see partitioner.ts). */
  readonly keyHash: number;
  /** Encoded by src/kafka/record-batch.ts, not by kafkajs's per-record encoders. */
  readonly [FAST_RECORD]: true;
}

/** One encoded event waiting for Kafka. */
export interface PendingRecord {
  readonly message: KafkaMessage;
  /** The key as text: correlation id, else event id. */
  readonly keyText: string;
  /** What the record costs in the buffer and in a batch: value, key, headers and the record framing. */
  readonly bytes: number;
  /** Bounded metric label: a known event type or UNKNOWN. */
  readonly eventType: string;
  readonly eventId: string;
  readonly acceptedAt: number;
  /** Called once: undefined when Kafka acknowledged the record, the error otherwise. */
  settle(error: OnexError | undefined): void;
}

export interface Batch {
  /** Sealing order; batches are sent in this order, so `seq` also tells which batches a flush() waits for. */
  readonly seq: number;
  readonly lane: Lane;
  readonly records: PendingRecord[];
  readonly bytes: number;
  /** When its oldest record was accepted: the delivery timeout counts from here. */
  readonly oldestAcceptedAt: number;
}

export interface BatchLimits {
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly lingerMs: number;
}

class OpenBatch {
  readonly records: PendingRecord[] = [];
  /**
   * Keys of the lz4 lane's open batch, so a plain event with the same key can force it out first. The plain lane
   * keeps no set (it would cost a Set insert per event on the hot path): a large event, rare and costly anyway,
   * scans the plain batch's keys instead.
   */
  readonly keys: Set<string> | undefined;
  bytes = 0;
  timer: NodeJS.Timeout | undefined;
  constructor(readonly lane: Lane) {
    this.keys = lane === 'lz4' ? new Set() : undefined;
  }

  hasKey(key: string): boolean {
    if (this.keys) return this.keys.has(key);
    for (const r of this.records) if (r.keyText === key) return true;
    return false;
  }
}

/**
 * Groups records into batches by count, bytes and age (linger), and hands sealed batches out in the order they must
 * be sent. One rule keeps the order of a key (a flow: same correlation id, same partition) across the two lanes: when
 * a record joins one lane while the other lane's open batch holds a record of the same key, that other batch is
 * sealed first. Batches are then sent one at a time in sealing order, so a flow's events reach Kafka in emit order.
 */
export class Batcher {
  private readonly open: Record<Lane, OpenBatch | undefined> = { plain: undefined, lz4: undefined };
  private readonly sealed: Batch[] = [];
  private nextSeq = 1;

  constructor(
    private readonly limits: BatchLimits,
    /** Called whenever a batch was sealed (the sender may have work). */
    private readonly onSealed: () => void,
  ) {}

  add(record: PendingRecord, lane: Lane): void {
    const other = this.open[lane === 'plain' ? 'lz4' : 'plain'];
    if (other && other.records.length > 0 && other.hasKey(record.keyText)) this.seal(other);

    let batch = this.open[lane];
    if (batch && batch.records.length > 0 && batch.bytes + record.bytes > this.limits.maxBytes) {
      this.seal(batch);
      batch = undefined;
    }
    if (!batch) {
      batch = new OpenBatch(lane);
      this.open[lane] = batch;
      if (this.limits.lingerMs > 0) {
        const opened = batch;
        opened.timer = setTimeout(() => this.seal(opened), this.limits.lingerMs);
      }
    }
    batch.records.push(record);
    batch.keys?.add(record.keyText);
    batch.bytes += record.bytes;
    if (batch.records.length >= this.limits.maxEvents || batch.bytes >= this.limits.maxBytes || this.limits.lingerMs === 0) {
      this.seal(batch);
    }
  }

  /** Seals both open batches (flush, close). Returns the seq of the last sealed batch, 0 when there is none. */
  sealAll(): number {
    for (const lane of ['plain', 'lz4'] as const) {
      const b = this.open[lane];
      if (b) this.seal(b);
    }
    return this.nextSeq - 1;
  }

  /**
   * The next batch to send, in sealing order. Batches sealed by age while a send was in flight are small; the ones
   * that follow each other in the same lane go out as one request, up to the batch limits, instead of one round trip
   * each (at a moderate rate on a slow broker that was the difference between a few and hundreds of milliseconds).
   */
  take(): Batch | undefined {
    const first = this.sealed.shift();
    if (!first) return undefined;
    let next = this.sealed[0];
    if (!next || next.lane !== first.lane) return first;
    const records = [...first.records];
    let { bytes, seq, oldestAcceptedAt } = first;
    while (next && next.lane === first.lane && records.length + next.records.length <= this.limits.maxEvents && bytes + next.bytes <= this.limits.maxBytes) {
      this.sealed.shift();
      for (const r of next.records) records.push(r);
      bytes += next.bytes;
      seq = next.seq;
      if (next.oldestAcceptedAt < oldestAcceptedAt) oldestAcceptedAt = next.oldestAcceptedAt;
      next = this.sealed[0];
    }
    return { seq, lane: first.lane, records, bytes, oldestAcceptedAt };
  }

  get sealedCount(): number {
    return this.sealed.length;
  }

  /** Records not yet handed out (open and sealed). */
  get pendingRecords(): number {
    let n = (this.open.plain?.records.length ?? 0) + (this.open.lz4?.records.length ?? 0);
    for (const b of this.sealed) n += b.records.length;
    return n;
  }

  private seal(batch: OpenBatch): void {
    if (this.open[batch.lane] !== batch) return; // already sealed (a linger timer that lost the race)
    this.open[batch.lane] = undefined;
    clearTimeout(batch.timer);
    if (batch.records.length === 0) return;
    let oldest = batch.records[0]!.acceptedAt;
    for (const r of batch.records) if (r.acceptedAt < oldest) oldest = r.acceptedAt;
    this.sealed.push({ seq: this.nextSeq++, lane: batch.lane, records: batch.records, bytes: batch.bytes, oldestAcceptedAt: oldest });
    this.onSealed();
  }
}
