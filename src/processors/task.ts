import type { Batch, Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import { onexError, type OnexError } from '../event/index.js';
import { FAST_RECORD, installRecordBatchEncoder } from '../kafka/index.js';
import { BACKOFFS, retryWhile } from '../retry/index.js';
import type { Logger } from '../telemetry/types.js';
import { activeTracer, traceRecord } from '../telemetry/internal.js';
import { HandlerRouter, RecordProcessor, type ProcessControl, type WorkerMetrics } from '../worker/index.js';
import { changelogMessage } from './changelog.js';
import type { ProcessorMetrics } from './metrics.js';
import type { ResolvedProcessorOptions } from './options.js';
import { PartitionRunner } from './partition-runner.js';
import { PartitionState } from './partition-state.js';

/**
 * One input partition of a processor on Kafka: its state, and a transactional producer of its own whose
 * transactional id names the partition (`<group>-<topic>-<p>`). Whoever opens the partition next, in this process or
 * another, fences this producer and aborts its open transaction, so a zombie cannot commit behind the new owner.
 *
 * A batch is one transaction: the records go through the worker's RecordProcessor (decode, upcast, validate,
 * retry, dead-letter: dead letters join the transaction), the handler runs the definition on the partition's state,
 * and the emitted records, the changelog records of the changed keys and the next input offset commit together.
 * An abort undoes the state in memory, and the batch is fetched again.
 */

export interface TaskDeps {
  kafka: Kafka;
  o: ResolvedProcessorOptions;
  metrics: ProcessorMetrics;
  workerMetrics: WorkerMetrics;
  log: Logger;
}

export interface TaskStats {
  recordsIn: number;
  recordsOut: number;
  commits: number;
  aborts: number;
  late: number;
}

function isFenced(err: unknown): boolean {
  const type = (err as { type?: string; cause?: { type?: string } }).type ?? (err as { cause?: { type?: string } }).cause?.type;
  return type === 'INVALID_PRODUCER_EPOCH' || type === 'PRODUCER_FENCED' || type === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED';
}

/**
 * The retries of the transactional producer's sends. A transaction's first AddPartitionsToTxn is refused with
 * CONCURRENT_TRANSACTIONS while the broker still writes the markers of the partition's previous transaction (a few
 * milliseconds after its commit returned), and kafkajs retries it after the client's initial 300 ms. These sends
 * retry from 5 ms (the Java producer waits 20 ms; back-to-back transactions had a p90 of 28 ms from 20 ms, 10-12 ms
 * from 5). Retries stay unbounded (kafkajs's default for an idempotent producer) and back off
 * exponentially to the client's maximum, as before; only the first waits are shorter.
 */
export const TRANSACTION_RETRY = { initialRetryTime: BACKOFFS.transactionRequest.initialMs, retries: Number.MAX_SAFE_INTEGER };

/**
 * kafkajs sends a transaction's AddOffsetsToTxn once, without the retries its AddPartitionsToTxn gets: when it is the
 * transaction's first request to the coordinator (a batch with no output and no state change sends only its offsets),
 * the broker can refuse it with CONCURRENT_TRANSACTIONS while it writes the previous transaction's markers, and the
 * batch was aborted and fetched again. Nothing was added then, so the offsets are sent again (10 retries, about 3 s,
 * then the transaction aborts as before).
 */
const CONCURRENT_TRANSACTIONS_RETRIES = 10;

const isConcurrentTransactions = (err: unknown): boolean => (err as { type?: string }).type === 'CONCURRENT_TRANSACTIONS';

export class PartitionTask {
  readonly state: PartitionState;
  readonly runner: PartitionRunner;
  /** The next input offset to process: records below it were committed already (by this task or a previous owner). */
  committedOffset = -1;
  closed = false;
  private producer: Producer | undefined;
  private readonly records: RecordProcessor;
  private queue: Promise<unknown> = Promise.resolve();
  private lastRecordAt = Date.now();
  /**
   * A batch failed (its transaction aborted) and is fetched again: the partition has records waiting, so it is not
   * idle. Without this, a tick after a slow abort (a send retried for seconds) moved the watermark past the records
   * still to be processed again, and they were dropped as late: their effects (an ALERT) were lost.
   */
  private refetchPending = false;
  private late = 0;
  private timers = 0;
  readonly stats: TaskStats = { recordsIn: 0, recordsOut: 0, commits: 0, aborts: 0, late: 0 };

  constructor(
    readonly partition: number,
    private readonly d: TaskDeps,
  ) {
    const { o, metrics } = d;
    this.state = new PartitionState({
      allowedLatenessMs: o.allowedLatenessMs,
      stores: o.definition.stores ?? {},
      onEvict: (store, reason) => metrics.evicted(store, reason),
    });
    this.runner = new PartitionRunner(this.state, o.definition, {
      topic: o.topic,
      partition,
      late: o.late,
      onLate: () => this.late++,
      onTimerFired: () => this.timers++,
    });
    this.records = new RecordProcessor({
      decoder: o.decoder,
      router: new HandlerRouter({ '*': (event, ctx) => void this.runner.process(event, { offset: ctx.offset, writerVersion: ctx.writerVersion }) }),
      targetVersion: o.targetVersion,
      validation: o.validation,
      retry: o.retry,
      deadLetter: { topicFor: () => o.deadLetterTopic, sink: { send: async (topic, message) => void this.runner.emit({ ...message, topic } as never) } },
      deadLetterBackoff: BACKOFFS.deadLetterWrite,
      groupId: o.groupId,
      metrics: d.workerMetrics,
      deprecatedVersions: o.deprecatedVersions,
      log: d.log,
      // Profiled as `<processor> <event_type>` (`alerts NODE_FAILURE`), not as a worker handler's `handle ...`.
      profileAs: o.definition.name,
    });
  }

  get transactionalId(): string {
    return `${this.d.o.groupId}-${this.d.o.topic}-${this.partition}`;
  }

  /** Connects the transactional producer: this fences the partition's previous owner and aborts its open transaction. */
  async open(): Promise<void> {
    // The transaction's records (output and changelog) carry FAST_RECORD: kafkajs's Produce requests of them are
    // encoded in one pass with a native CRC-32C (src/kafka/record-batch.ts), the same bytes as kafkajs's encoder.
    installRecordBatchEncoder();
    this.producer = this.d.kafka.producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.d.o.transactionTimeoutMs,
      allowAutoTopicCreation: false,
      retry: TRANSACTION_RETRY,
    });
    await this.producer.connect();
  }

  /** Runs `fn` after whatever this task is doing (a batch or a tick): one transaction at a time per partition. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Processes a fetched batch in one transaction; returns the last offset committed, or undefined. */
  runBatch(batch: Batch, control: ProcessControl): Promise<string | undefined> {
    return this.exclusive(async () => {
      if (this.closed) return undefined;
      this.lastRecordAt = Date.now();
      this.refetchPending = false;
      try {
        return await this.runRecords(batch, control);
      } catch (err) {
        this.refetchPending = true;
        throw err;
      } finally {
        // Idle is counted from the end of the work on a batch, not its start (a commit can take seconds).
        this.lastRecordAt = Date.now();
      }
    });
  }

  private async runRecords(batch: Batch, control: ProcessControl): Promise<string | undefined> {
    let last: string | undefined;
    let n = 0;
    for (const m of batch.messages) {
      if (Number(m.offset) < this.committedOffset) continue;
      if (control.stopping()) break;
      const record = { topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers };
      // As in the worker: a CONSUMER span per record, child of the producer's, so what the definition emits while
      // handling it (an ALERT) joins the record's trace.
      const tracer = activeTracer();
      const r = tracer ? traceRecord(tracer, record, this.d.o.groupId, () => this.records.process(record, control)) : this.records.process(record, control);
      const outcome = r instanceof Promise ? await r : r;
      if (outcome.status === 'interrupted') break;
      last = m.offset;
      n++;
    }
    if (last === undefined) {
      this.abandon();
      return undefined;
    }
    this.endBatch();
    await this.commit(Number(last) + 1, n);
    this.d.metrics.partition(this.partition, this.state.entries(), Number(batch.highWatermark) - Number(last) - 1);
    return last;
  }

  /** The processing-time tick: an idle partition's watermark follows the wall clock; expired state and due timers go. */
  tick(now: number): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed || !this.producer) return;
      const { tick, allowedLatenessMs } = this.d.o;
      const idle = tick !== false && !this.refetchPending && now - this.lastRecordAt >= tick.idleAfterMs;
      this.runner.advanceTo(idle ? now - allowedLatenessMs : -Infinity);
      if (this.state.changed()) this.endBatch();
      if (this.state.changed()) await this.commit(undefined, 0);
      this.d.metrics.partition(this.partition, this.state.entries(), undefined);
    });
  }

  /** The definition's endBatch; if it throws, the batch is undone as a whole (and fetched again). */
  private endBatch(): void {
    try {
      this.runner.endBatch();
    } catch (err) {
      this.abandon();
      throw err;
    }
  }

  /** Drops what the open batch did, without a transaction (nothing was sent yet). */
  private abandon(): void {
    this.state.rollback();
    this.runner.discardOutput();
    this.late = 0;
    this.timers = 0;
  }

  private async commit(nextOffset: number | undefined, recordsIn: number): Promise<void> {
    const { o } = this.d;
    const output = this.runner.takeOutput();
    const byTopic = new Map<string, Message[]>();
    for (const r of output) {
      let list = byTopic.get(r.topic);
      if (!list) byTopic.set(r.topic, (list = []));
      list.push({ key: r.key ?? null, value: r.value, ...(r.headers ? { headers: r.headers } : {}), ...(r.partition !== undefined ? { partition: r.partition } : {}), [FAST_RECORD]: true } as Message);
    }
    const changes = this.state.pendingChanges();
    if (changes.length) byTopic.set(o.changelogTopic, changes.map((c) => changelogMessage(c, this.partition)));
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    const producer = this.producer!;
    const txn = await producer.transaction();
    try {
      if (topicMessages.length) await txn.sendBatch({ topicMessages, acks: -1 });
      if (nextOffset !== undefined) {
        const offsets = { consumerGroupId: o.groupId, topics: [{ topic: o.topic, partitions: [{ partition: this.partition, offset: String(nextOffset) }] }] };
        await retryWhile(() => txn.sendOffsets(offsets), isConcurrentTransactions, CONCURRENT_TRANSACTIONS_RETRIES + 1, BACKOFFS.transactionRequest);
      }
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => undefined);
      this.abandon();
      this.stats.aborts++;
      this.d.metrics.aborted();
      throw this.failure(err);
    }
    this.state.settle();
    if (nextOffset !== undefined) this.committedOffset = nextOffset;
    const out = output.length;
    this.stats.commits++;
    this.stats.recordsIn += recordsIn;
    this.stats.recordsOut += out;
    this.stats.late += this.late;
    this.d.metrics.committed(recordsIn, out, this.late, o.late, this.timers);
    this.late = 0;
    this.timers = 0;
  }

  private failure(err: unknown): OnexError {
    if (isFenced(err)) {
      this.closed = true;
      return onexError('ONEX_RT_422', `partition ${this.partition} of ${this.d.o.topic} has a new owner; this member stops processing it`, { cause: err });
    }
    return onexError('ONEX_RT_421', `the transaction of partition ${this.partition} of ${this.d.o.topic} was aborted: ${(err as Error).message}`, { cause: err });
  }

  /** Waits for the work in hand, then disconnects the producer; the state is dropped with the task. */
  close(): Promise<void> {
    this.closed = true;
    return this.exclusive(async () => {
      await this.producer?.disconnect().catch(() => undefined);
      this.d.metrics.dropPartition(this.partition);
    });
  }
}
