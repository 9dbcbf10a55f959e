import { performance } from 'node:perf_hooks';
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { asOnexError, isOnexError, onexError } from '../event/index.js';
import { ensureTopics, installFetchDecoder, withFastFetch } from '../kafka/index.js';
import { logger as rootLogger } from '../logging/index.js';
import { retryWhileRetriable, WorkerMetrics, type ProcessControl } from '../worker/index.js';
import { ConsumerReadiness, runningCheck } from '../health/internal.js';
import { restoreChangelog } from './changelog.js';
import { ProcessorMetrics } from './metrics.js';
import { resolveProcessorOptions } from './options.js';
import { PartitionTask } from './task.js';
import type { Processor, ProcessorOptions, ProcessorStats } from './types.js';

/**
 * A processor: a consumer group (read committed, no auto-commit) whose partitions are PartitionTasks. On each
 * assignment the partitions new to this member are opened (their producers fence the previous owner), restored from
 * the changelog up to its end, and told the input offset committed with the last transaction; only then do their
 * batches run. Partitions this member lost are closed and their state dropped. A timer ticks every task.
 */
export function createProcessor(options: ProcessorOptions): Processor {
  const o = resolveProcessorOptions(options);
  const log = options.logger ?? rootLogger('processor');
  const metrics = new ProcessorMetrics(o.definition.name, options.metricsRegistry);
  const workerMetrics = new WorkerMetrics(options.metricsRegistry);
  const kafka = o.kafka;
  const consumer: Consumer = kafka.consumer({
    groupId: o.groupId,
    readUncommitted: false,
    sessionTimeout: o.sessionTimeoutMs,
    heartbeatInterval: o.heartbeatIntervalMs,
    maxWaitTimeInMs: o.maxWaitTimeMs,
  });
  const admin: Admin = kafka.admin();
  const consumerReadiness = new ConsumerReadiness(consumer);
  /** Partitions assigned and not restored yet (readiness waits for them). */
  const restoring = new Set<number>();
  const tasks = new Map<number, PartitionTask>();
  const ready = new Map<number, Promise<void>>();
  const stats = { restores: 0 };
  const closedStats: ProcessorStats = { recordsIn: 0, recordsOut: 0, commits: 0, aborts: 0, late: 0, restores: 0 };
  let stopping = false;
  let started = false;
  let ticker: NodeJS.Timeout | undefined;
  let resolveReady!: () => void;
  const firstReady = new Promise<void>((r) => (resolveReady = r));
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => undefined);
  let stopPromise: Promise<void> | undefined;

  function retire(task: PartitionTask): void {
    tasks.delete(task.partition);
    ready.delete(task.partition);
    for (const k of ['recordsIn', 'recordsOut', 'commits', 'aborts', 'late'] as const) closedStats[k] += task.stats[k];
    void task.close();
  }

  /** Opens, restores and positions the partitions new to this member; a batch of one of them waits for this. */
  async function restore(fresh: PartitionTask[]): Promise<void> {
    const started = performance.now();
    await Promise.all(fresh.map((t) => retryWhileRetriable(() => t.open())));
    const offsets = await admin.fetchTopicOffsets(o.changelogTopic);
    const ends = new Map<number, { low: number; high: number }>();
    for (const p of offsets) if (fresh.some((t) => t.partition === p.partition)) ends.set(p.partition, { low: Number(p.low), high: Number(p.high) });
    const applied = await restoreChangelog({
      kafka,
      topic: o.changelogTopic,
      groupPrefix: o.groupId,
      ends,
      apply: (partition, change) => tasks.get(partition)?.state.apply(change),
      timeoutMs: o.restoreTimeoutMs,
    });
    // The consumer read its position before the previous owner was fenced: an offset committed by a transaction that
    // was finishing then is read again now, and the task skips the records below it.
    const committed = await admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] });
    for (const p of committed[0]?.partitions ?? []) {
      const t = tasks.get(p.partition);
      if (t && fresh.includes(t)) t.committedOffset = Number(p.offset);
    }
    for (const t of fresh) t.state.settle();
    stats.restores++;
    const seconds = (performance.now() - started) / 1000;
    metrics.restoreSeconds.observe({ processor: o.definition.name }, seconds);
    log.info({ partitions: fresh.map((t) => t.partition), records: applied, seconds }, 'state restored from the changelog');
  }

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assigned = new Set(e.payload.memberAssignment[o.topic] ?? []);
    for (const t of [...tasks.values()]) if (!assigned.has(t.partition)) retire(t);
    const fresh: PartitionTask[] = [];
    for (const p of assigned) {
      if (tasks.has(p)) continue;
      const t = new PartitionTask(p, { kafka, o, metrics, workerMetrics, log });
      tasks.set(p, t);
      fresh.push(t);
    }
    const job = fresh.length ? restore(fresh) : Promise.resolve();
    for (const t of fresh) {
      ready.set(t.partition, job);
      restoring.add(t.partition);
    }
    void job.then(() => fresh.forEach((t) => restoring.delete(t.partition)), () => undefined);
    job.then(resolveReady, (err: unknown) => log.error({ err: (err as Error).message }, 'restoring partitions failed; the consumer restarts'));
    log.info({ groupId: o.groupId, partitions: [...assigned].sort((a, b) => a - b) }, 'joined the processor group');
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (e.payload.restart) return;
    const fatal = asOnexError(e.payload.error, 'ONEX_EVENT_600', `the processor stopped: ${e.payload.error.message}`);
    void shutdown().then(() => rejectDone(fatal), () => rejectDone(fatal));
  });

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, resolveOffset, isRunning } = payload;
    const task = tasks.get(batch.partition);
    if (!task || task.closed) return;
    // A restore that failed throws here: kafkajs restarts the consumer, which rejoins and restores again.
    await ready.get(batch.partition);
    const control: ProcessControl = {
      heartbeat: () => heartbeat().catch(() => undefined),
      stopping: () => stopping || !isRunning(),
      wait: async (ms) => {
        const until = Date.now() + ms;
        while (!stopping && isRunning() && Date.now() < until) {
          await new Promise((r) => setTimeout(r, Math.min(500, until - Date.now())));
          await heartbeat().catch(() => undefined);
        }
        return !stopping && isRunning();
      },
    };
    try {
      const last = await task.runBatch(batch, control);
      if (last !== undefined) resolveOffset(last);
    } catch (err) {
      if (isOnexError(err, 'ONEX_RT_422')) {
        log.warn({ partition: batch.partition }, (err as Error).message);
        retire(task);
        return;
      }
      // Not resolved: the next fetch reads the batch again, and the task runs it on the state as it was before.
      log.warn({ partition: batch.partition, err: (err as Error).message }, 'batch aborted; it is processed again');
      consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(Math.max(task.committedOffset, Number(batch.firstOffset() ?? 0))) });
      return;
    }
    await heartbeat().catch(() => undefined);
  }

  function tick(): void {
    const now = Date.now();
    for (const [p, t] of tasks) {
      void ready
        .get(p)
        ?.then(() => t.tick(now))
        .catch((err: unknown) => {
          if (isOnexError(err, 'ONEX_RT_422') && tasks.get(p) === t) retire(t);
          else log.warn({ partition: p, err: (err as Error).message }, 'tick transaction aborted');
        });
    }
  }

  async function start(): Promise<void> {
    if (started) throw onexError('ONEX_RT_407', 'this processor was started already; create a new one');
    started = true;
    try {
      await admin.connect();
      const meta = await retryWhileRetriable(() => admin.fetchTopicMetadata({ topics: [o.topic] }));
      const partitions = meta.topics[0]?.partitions.length ?? 1;
      await retryWhileRetriable(() =>
        ensureTopics(admin, [
          { topic: o.changelogTopic, partitions, configs: { 'cleanup.policy': 'compact' }, ...o.replication },
          { topic: o.deadLetterTopic, partitions: 1, ...o.replication },
          ...[...new Set(o.outputTopics)].filter((t) => t !== o.changelogTopic && t !== o.deadLetterTopic).map((topic) => ({ topic, partitions: 1, ...o.replication })),
        ]),
      );
      await consumer.connect();
      await consumer.subscribe({ topic: o.topic, fromBeginning: o.fromBeginning });
      // The input is fetched through the one-pass Fetch decoder (src/kafka/fetch-decoder.ts), as the worker's is; the
      // restore consumers, started from inside this consumer's fetch loop, inherit it.
      await withFastFetch(() => consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: o.concurrency, eachBatch }), installFetchDecoder());
      if (o.tick !== false) {
        ticker = setInterval(tick, o.tick.intervalMs);
        ticker.unref();
      }
      log.info({ groupId: o.groupId, topic: o.topic, changelog: o.changelogTopic }, 'processor started');
    } catch (err) {
      const e = asOnexError(err, 'ONEX_EVENT_601', `the processor could not start on ${o.topic}: ${(err as Error).message}`);
      await shutdown().catch(() => undefined);
      rejectDone(e);
      throw e;
    }
  }

  async function shutdown(): Promise<void> {
    stopping = true;
    if (ticker) clearInterval(ticker);
    await consumer.disconnect().catch(() => undefined);
    await Promise.all([...tasks.values()].map((t) => (retire(t), t.close())));
    await admin.disconnect().catch(() => undefined);
    workerMetrics.close();
  }

  function stats_(): ProcessorStats {
    const s = { ...closedStats, restores: stats.restores };
    for (const t of tasks.values()) for (const k of ['recordsIn', 'recordsOut', 'commits', 'aborts', 'late'] as const) s[k] += t.stats[k];
    return s;
  }

  return {
    groupId: o.groupId,
    changelogTopic: o.changelogTopic,
    start,
    ready: () => firstReady,
    stop() {
      stopPromise ??= shutdown().then(resolveDone, (err: unknown) => {
        rejectDone(err);
        throw err;
      });
      return stopPromise;
    },
    done,
    assignment: () => [...tasks.keys()].sort((a, b) => a - b),
    stats: stats_,
    readiness: () => {
      const pending = [...restoring].filter((p) => tasks.has(p)).sort((a, b) => a - b);
      return {
        running: runningCheck(started, stopping),
        ...consumerReadiness.checks(),
        state: pending.length === 0 ? { ok: true } : { ok: false, detail: `restoring partitions ${pending.join(',')} from ${o.changelogTopic}` },
      };
    },
    handleSignals(signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']) {
      const onSignal = () => void this.stop().catch(() => undefined);
      for (const s of signals) process.once(s, onSignal);
      return () => {
        for (const s of signals) process.off(s, onSignal);
      };
    },
  };
}
