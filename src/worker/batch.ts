import type { EachBatchPayload } from 'kafkajs';
import { activeTracer, traceRecord } from '../telemetry/internal.js';
import type { WorkerMetrics } from './metrics.js';
import type { RecordProcessor } from './record-processor.js';
import type { ProcessControl, RecordOutcome, WorkerStats } from './types.js';

/**
 * One fetched batch of one partition through the record processor, record after record (order within a partition is
 * kept): heartbeats while handlers run long, commits on the way through a long batch, and gives a record in backoff
 * back when the group rebalances or the worker stops. The worker (worker.ts) owns the consumer and its life; this
 * is what kafkajs's eachBatch runs.
 */

/** How often a long batch offers kafkajs a commit (it commits when autoCommitInterval passed). */
const COMMIT_CHECK_MS = 1_000;

/** What the batch loop needs of the worker it runs in. */
export interface BatchLoopContext {
  readonly processor: RecordProcessor;
  readonly metrics: WorkerMetrics;
  readonly groupId: string;
  readonly heartbeatIntervalMs: number;
  /** Counted here: batches and record outcomes. */
  readonly stats: WorkerStats;
  /** True once stop() was called. */
  stopping(): boolean;
  /** True once stop() gave up on a handler that never returns: this member must stop heartbeating. */
  abandoned(): boolean;
  /** Settles when stop() is called, so that a record waiting for its retry wakes up. */
  readonly stopSignal: Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** kafkajs's eachBatch for a worker. */
export function batchLoop(ctx: BatchLoopContext): (payload: EachBatchPayload) => Promise<void> {
  const { processor, metrics, groupId, stats, stopSignal } = ctx;
  const heartbeatIntervalMs = ctx.heartbeatIntervalMs;
  // kafkajs sends a heartbeat only when heartbeatInterval passed since the last one; asking at a third of it keeps
  // the gap below the interval plus a third.
  const heartbeatCheckMs = Math.max(1, Math.floor(heartbeatIntervalMs / 3));

  return async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    stats.batches++;
    const first = batch.messages[0];
    if (first) metrics.setLag(batch.topic, batch.partition, Number(batch.highWatermark) - Number(first.offset));
    const isStopping = () => ctx.stopping() || !isRunning() || isStale();
    // A handler may run longer than the session timeout allows between heartbeats: a timer keeps the membership
    // alive meanwhile. A failed heartbeat (the group is rebalancing) ends the batch at the next record: kafkajs then
    // commits what was resolved and rejoins.
    let heartbeatError: unknown;
    // Once stop() gave up on a handler that never returns, this member must stop heartbeating: its session then
    // expires and the partition moves to a live member (the record in hand was not committed, so it is redelivered).
    const beat = () => (ctx.abandoned() ? Promise.resolve() : heartbeat().catch((e: unknown) => void (heartbeatError ??= e)));
    const timer = setInterval(beat, heartbeatIntervalMs);
    timer.unref();
    // During a rebalance a record in backoff is given back rather than retried: its partition may be moving.
    const mustYield = () => isStopping() || heartbeatError !== undefined;
    const control: ProcessControl = {
      // A handler's heartbeat never throws into the handler (that would count as a handler failure); a rebalance it
      // meets ends the batch at the next record instead.
      heartbeat: beat,
      stopping: mustYield,
      wait: async (ms) => {
        const until = Date.now() + ms;
        while (!mustYield()) {
          const left = until - Date.now();
          if (left <= 0) return true;
          await Promise.race([sleep(Math.min(left, heartbeatIntervalMs)), stopSignal]);
          await beat();
        }
        return false;
      },
    };
    let last: string | undefined;
    // Heartbeat and commit checks by the clock, not per record: kafkajs throttles both anyway, but each call is a
    // promise, and at tens of thousands of records a second those add up.
    let lastBeat = Date.now();
    let lastCommitCheck = lastBeat;
    try {
      for (const m of batch.messages) {
        // isStale() (a seek moved the partition) is asked on the clock below, not per record: kafkajs builds a JSON key
        // for it on every call, and only consumer.seek() sets it, which nothing calls on this private consumer.
        if (ctx.stopping() || !isRunning()) break;
        if (heartbeatError) throw heartbeatError;
        const record = { topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers };
        const tracer = activeTracer();
        const result = tracer ? traceRecord(tracer, record, groupId, () => processor.process(record, control)) : processor.process(record, control);
        // Most records finish synchronously: awaiting a plain value would still cost a turn of the microtask queue.
        const outcome: RecordOutcome = result instanceof Promise ? await result : result;
        if (outcome.status === 'interrupted') break;
        count(stats, outcome);
        // Resolved with kafkajs when it can matter (before a commit check and when the batch ends, however it ends),
        // not per record: each resolveOffset() is 64-bit arithmetic through BigInt strings.
        last = m.offset;
        const now = Date.now();
        if (now - lastCommitCheck >= COMMIT_CHECK_MS) {
          lastCommitCheck = now;
          // Lag is reported during a long batch too: a slow worker is exactly the one whose lag matters.
          metrics.setLag(batch.topic, batch.partition, Number(batch.highWatermark) - Number(m.offset) - 1);
          resolveOffset(last);
          await commitOffsetsIfNecessary();
        }
        if (now - lastBeat >= heartbeatCheckMs) {
          lastBeat = now;
          if (isStale()) break;
          await heartbeat();
        }
      }
    } finally {
      clearInterval(timer);
      if (last !== undefined) {
        // Everything up to `last` was handled or dead-lettered: kafkajs commits it when eachBatch returns or throws.
        resolveOffset(last);
        metrics.setLag(batch.topic, batch.partition, Number(batch.highWatermark) - Number(last) - 1);
      }
    }
  };
}

function count(stats: WorkerStats, outcome: RecordOutcome): void {
  if (outcome.status === 'handled') stats.handled++;
  else if (outcome.status === 'unhandled') stats.unhandled++;
  else if (outcome.status === 'dead_lettered') stats.deadLettered++;
  else if (outcome.status === 'dropped') stats.dropped++;
}
