import { randomUUID } from 'node:crypto';
import type { Kafka, Message } from 'kafkajs';
import { asOnexError, onexError } from '../event/index.js';
import { FAST_RECORD } from '../kafka/index.js';
import type { Entry, StateChange } from './partition-state.js';

/**
 * The changelog: one compacted topic per processor, partition p holding the state of input partition p. A record's
 * key is the JSON pair [store, key], its value the JSON entry {v, t} or null (a tombstone, so compaction forgets the
 * key). Only the owner of an input partition writes its changelog partition, and only inside its transactions.
 */

/** A changelog record; FAST_RECORD: encoded by src/kafka/record-batch.ts (one pass, native CRC), not by kafkajs. */
export function changelogMessage(change: StateChange, partition: number): Message & { [FAST_RECORD]: true } {
  return {
    key: JSON.stringify([change.store, change.key]),
    value: change.entry === undefined ? null : JSON.stringify(change.entry),
    partition,
    [FAST_RECORD]: true,
  };
}

export function readChangelogRecord(key: Buffer | null, value: Buffer | null): StateChange {
  try {
    const [store, k] = JSON.parse(key?.toString('utf8') ?? 'null') as [string, string];
    if (typeof store !== 'string' || typeof k !== 'string') throw new Error('the key is not a [store, key] pair');
    const entry = value === null ? undefined : (JSON.parse(value.toString('utf8')) as Entry);
    return { store, key: k, entry };
  } catch (cause) {
    throw onexError('ONEX_RT_402', `a changelog record could not be read: ${(cause as Error).message}`, { cause });
  }
}

export interface RestoreRequest {
  kafka: Kafka;
  topic: string;
  /** Names the short-lived consumer group the restore reads with. */
  groupPrefix: string;
  /** End offsets to read up to, by partition, taken after the previous owner was fenced. */
  ends: Map<number, { low: number; high: number }>;
  apply(partition: number, change: StateChange): void;
  timeoutMs: number;
}

/**
 * Reads changelog partitions from their start to the given end offsets (read committed, so an aborted transaction's
 * records are skipped). kafkajs has no manual assignment, so a consumer of a group of its own reads the topic and
 * pauses the partitions it does not need; it commits nothing, and the broker forgets the empty group.
 */
export async function restoreChangelog(r: RestoreRequest): Promise<number> {
  const pending = new Set([...r.ends].filter(([, e]) => e.high > e.low).map(([p]) => p));
  if (pending.size === 0) return 0;
  let applied = 0;
  const consumer = r.kafka.consumer({ groupId: `${r.groupPrefix}.restore.${randomUUID()}`, maxWaitTimeInMs: 100, readUncommitted: false });
  const reached = (partition: number, offset: string) => {
    if (pending.has(partition) && Number(offset) >= r.ends.get(partition)!.high - 1) pending.delete(partition);
  };
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: r.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(onexError('ONEX_RT_420', `the state of partitions ${[...pending].join(', ')} of ${r.topic} was not restored within ${r.timeoutMs} ms`)), r.timeoutMs);
      const check = () => {
        if (pending.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      // A batch of only transaction markers reaches no eachBatch; its end offset arrives here. A fetch that returned
      // no records at all for the partition (the response was full with other partitions' data, or nothing is
      // readable yet) also ends a "batch", and kafkajs reports its lastOffset as the high watermark - 1 as if all
      // had been read: only a batch with records (firstOffset set, markers included) says how far the read got.
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        if (e.payload.firstOffset === null || e.payload.firstOffset === undefined) return;
        reached(e.payload.partition, e.payload.lastOffset);
        check();
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = r.ends.get(batch.partition);
            if (!end || !pending.has(batch.partition)) {
              consumer.pause([{ topic: r.topic, partitions: [batch.partition] }]);
              return;
            }
            for (const m of batch.messages) {
              if (Number(m.offset) >= end.high) break;
              r.apply(batch.partition, readChangelogRecord(m.key, m.value));
              applied++;
            }
          },
        })
        .catch((e: unknown) => {
          clearTimeout(timer);
          reject(e);
        });
    });
    return applied;
  } catch (err) {
    throw asOnexError(err, 'ONEX_RT_420', `restoring state from ${r.topic} failed: ${(err as Error).message}`);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
