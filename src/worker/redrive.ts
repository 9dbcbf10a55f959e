import type { Kafka } from 'kafkajs';
import { asOnexError, onexError } from '../event/index.js';
import { logger as rootLogger } from '../logging/index.js';
import type { Logger } from '../telemetry/types.js';
import { buildRedriveRecord, readDeadLetterHeaders } from './dead-letter.js';

/**
 * Dead-letter redrive: after the cause of the failures is fixed (a handler bug, a schema registered late, a worker
 * upgraded to a newer major), the dead letters go back to the topic they came from, byte for byte, and the workers
 * read them again through the same path as any record (decode, detect, upcast, validate, handle).
 *
 * Progress is a consumer group on the dead-letter topic, committed after each republished record is on the broker,
 * so an interrupted redrive resumes where it stopped and a finished one does not send a record twice. A redrive reads
 * up to the end the topic had when it started and then returns; letters that arrive later wait for the next redrive.
 */
export interface RedriveOptions {
  kafka: Kafka;
  deadLetterTopic: string;
  /**
   * Consumer group that remembers the redrive's progress. Default `onex-dlq-redrive`, and with `codes`
   * `onex-dlq-redrive.<codes>`: a filtered redrive passes over the letters it skips, so it keeps its own progress and
   * a later redrive of other codes still finds them.
   */
  groupId?: string;
  /** Republish to this topic instead of each letter's source topic. */
  toTopic?: string;
  /** Only letters with one of these error codes; the rest are skipped (and stay in the dead-letter topic). */
  codes?: string[];
  /** Stop after this many republished letters. */
  max?: number;
  /** Letters redriven this often already are skipped (default 5), so that a poison record cannot loop forever. */
  maxRedrives?: number;
  /** Report what would be redriven; publish nothing and commit nothing, so the real redrive sees the same letters. */
  dryRun?: boolean;
  onLetter?: (letter: RedrivenLetter) => void;
  logger?: Logger;
}

export interface RedrivenLetter {
  partition: number;
  offset: string;
  errorCode: string | undefined;
  reason: string | undefined;
  toTopic: string | undefined;
  /** 'redriven', 'would-redrive' (dry run), or why it was skipped. */
  action: 'redriven' | 'would-redrive' | 'skipped-code' | 'skipped-loop' | 'skipped-no-source';
}

export interface RedriveResult {
  redriven: number;
  skipped: number;
  byCode: Record<string, number>;
}

export async function redriveDeadLetters(options: RedriveOptions): Promise<RedriveResult> {
  const log = options.logger ?? rootLogger('dlq-redrive');
  const maxRedrives = options.maxRedrives ?? 5;
  const codes = options.codes && options.codes.length > 0 ? new Set(options.codes) : undefined;
  const groupId = options.groupId ?? (codes ? `onex-dlq-redrive.${[...codes].sort().join('+')}` : 'onex-dlq-redrive');
  const max = options.max ?? Infinity;
  const { kafka, deadLetterTopic } = options;
  const result: RedriveResult = { redriven: 0, skipped: 0, byCode: {} };

  // What is left to read: from the group's committed offset (or the start) to the end the topic has now.
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<number, bigint>();
  const endOffsets = new Map<number, bigint>();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(deadLetterTopic)) throw onexError('ONEX_CLI_300', `there is no topic ${deadLetterTopic}`);
    const ends = await admin.fetchTopicOffsets(deadLetterTopic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [deadLetterTopic] });
    const committedBy = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    for (const p of ends) {
      const from = committedBy.get(p.partition) ?? -1n;
      const start = from >= 0n ? from : BigInt(p.low);
      const left = BigInt(p.high) - start;
      endOffsets.set(p.partition, BigInt(p.high));
      if (left > 0n) remaining.set(p.partition, left);
    }
  } finally {
    await admin.disconnect();
  }
  if (remaining.size === 0) return result;

  const producer = options.dryRun ? undefined : kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  let finish!: () => void;
  let fail!: (e: unknown) => void;
  const finished = new Promise<void>((res, rej) => {
    finish = res;
    fail = rej;
  });
  const maybeDone = () => {
    if (remaining.size === 0 || result.redriven >= max) finish();
  };
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(asOnexError(e.payload.error, 'ONEX_EVENT_600', `redrive stopped: ${e.payload.error.message}`));
  });
  try {
    await producer?.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [deadLetterTopic], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const m of batch.messages) {
          if (!isRunning() || isStale() || result.redriven >= max) break;
          const end = endOffsets.get(batch.partition) ?? 0n;
          if (BigInt(m.offset) >= end) break;
          const info = readDeadLetterHeaders(m.headers);
          const toTopic = options.toTopic ?? info.sourceTopic;
          let action: RedrivenLetter['action'];
          if (codes && !codes.has(info.errorCode ?? '')) action = 'skipped-code';
          else if (info.redrives >= maxRedrives) action = 'skipped-loop';
          else if (!toTopic) action = 'skipped-no-source';
          else action = options.dryRun ? 'would-redrive' : 'redriven';
          if (action === 'redriven') {
            await producer!.send({ topic: toTopic!, acks: -1, messages: [buildRedriveRecord({ key: m.key, value: m.value, headers: m.headers ?? {} })] });
          }
          if (action === 'redriven' || action === 'would-redrive') {
            result.redriven++;
            result.byCode[info.errorCode ?? 'none'] = (result.byCode[info.errorCode ?? 'none'] ?? 0) + 1;
          } else result.skipped++;
          options.onLetter?.({ partition: batch.partition, offset: m.offset, errorCode: info.errorCode, reason: info.reason, toTopic, action });
          if (!options.dryRun) resolveOffset(m.offset);
          const left = (remaining.get(batch.partition) ?? 0n) - 1n;
          if (BigInt(m.offset) + 1n >= end || left <= 0n) remaining.delete(batch.partition);
          else remaining.set(batch.partition, left);
          await heartbeat();
        }
        maybeDone();
      },
    });
    await finished;
  } finally {
    // disconnect() commits what was resolved (the letters now on their source topic) and leaves the group.
    await consumer.disconnect().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'redrive consumer disconnect failed'));
    await producer?.disconnect().catch(() => undefined);
  }
  log.info({ deadLetterTopic, ...result }, 'redrive finished');
  return result;
}
