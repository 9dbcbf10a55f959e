import type { Consumer, Producer } from 'kafkajs';
import type { CheckResult } from '../health/types.js';
import { ConsumerReadiness, runningCheck } from '../health/internal.js';
import { asOnexError, onexError, type OnexError, type SchemaVersion } from '../event/index.js';
import { connectionFromEnv, registryFromEnv } from '../codec/index.js';
import { ensureTopics, installFetchDecoder, transportFailure, withFastFetch } from '../kafka/index.js';
import { flags as processFlags } from '../flags/index.js';
import { logger as rootLogger } from '../logging/index.js';
import { HandlerRouter } from './handlers.js';
import { WorkerMetrics } from './metrics.js';
import { resolveWorkerOptions, type WorkerOptions } from './options.js';
import { RecordProcessor } from './record-processor.js';
import { batchLoop } from './batch.js';
import type { WorkerStats } from './types.js';
import { BACKOFFS, retryWhileRetriable } from '../retry/index.js';

/**
 * The stream worker: a consumer group that runs every record through RecordProcessor (batch by batch, batch.ts) and
 * commits a record's offset only after its handler finished (or its dead letter was written). At-least-once: a crash re-delivers the records
 * handled since the last commit, never skips one.
 *
 * Partitions run concurrently (kafkajs partitionsConsumedConcurrently); the records of one partition run one after
 * another, so order within a partition (one correlation id) is kept. stop() finishes the record in hand, commits what
 * was handled and leaves the group; the unhandled rest of a fetched batch is left uncommitted for the next owner.
 */

export interface Worker {
  readonly groupId: string;
  readonly targetVersion: SchemaVersion;
  readonly metrics: WorkerMetrics;
  /** Connects, creates missing dead-letter topics, joins the group and starts consuming. */
  start(): Promise<void>;
  /** Resolves at the first group join after start() (the partitions are assigned). */
  joined(): Promise<void>;
  /** Drains the record in hand, commits, leaves the group, disconnects. Idempotent. */
  stop(): Promise<void>;
  /** Settles when the worker stopped: resolves after stop(), rejects when the consumer crashed for good. */
  readonly done: Promise<void>;
  /** The partitions this member holds now, by topic. */
  assignment(): Record<string, number[]>;
  stats(): WorkerStats;
  /** stop() on SIGTERM and SIGINT; returns a function that removes the listeners. */
  handleSignals(signals?: NodeJS.Signals[]): () => void;
  /**
   * What /readyz reports for this worker: `kafka` (the consumer is connected and not restarting after a failure),
   * `group` (joined, partitions assigned, not rebalancing) and `running` (started and not draining).
   */
  readiness(): Record<string, CheckResult>;
}

export function createWorker(options: WorkerOptions): Worker {
  const o = resolveWorkerOptions(options);
  const log = options.logger ?? rootLogger('worker');
  const metrics = new WorkerMetrics(options.metricsRegistry);
  const router = new HandlerRouter(options.handlers);
  const kafka = o.kafka;
  const stats: WorkerStats = { handled: 0, unhandled: 0, deadLettered: 0, dropped: 0, batches: 0 };

  const consumer: Consumer = kafka.consumer({
    groupId: o.groupId,
    sessionTimeout: o.sessionTimeoutMs,
    heartbeatInterval: o.heartbeatIntervalMs,
    rebalanceTimeout: o.rebalanceTimeoutMs,
    maxBytesPerPartition: o.maxBytesPerPartition,
    maxWaitTimeInMs: o.maxWaitTimeMs,
  });
  const producer: Producer | undefined = o.deadLetter
    ? kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
    : undefined;

  const processor = new RecordProcessor({
    decoder: o.decoder,
    router,
    targetVersion: o.targetVersion,
    validation: o.validation,
    retry: o.retry,
    deadLetter:
      o.deadLetter && producer
        ? {
            topicFor: o.deadLetter.topicFor,
            sink: {
              send: async (topic, message) => {
                await producer.send({ topic, acks: -1, messages: [message] });
              },
            },
          }
        : undefined,
    deadLetterBackoff: BACKOFFS.deadLetterWrite,
    groupId: o.groupId,
    metrics,
    deprecatedVersions: o.deprecatedVersions,
    log,
    ...(options.onFailure ? { onFailure: options.onFailure } : {}),
    ...(options.security ? { security: options.security } : {}),
    flags: options.flags ?? processFlags,
  });

  let stopping = false;
  let abandoned = false;
  let started = false;
  let signalStop!: () => void;
  const stopSignal = new Promise<void>((r) => (signalStop = r));
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  // A caller that never awaits done must not get an unhandled rejection from it.
  done.catch(() => undefined);
  let resolveJoined!: () => void;
  const joinedPromise = new Promise<void>((r) => (resolveJoined = r));
  let assigned: Record<string, number[]> = {};
  let stopPromise: Promise<void> | undefined;

  const consumerReadiness = new ConsumerReadiness(consumer);
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    assigned = Object.fromEntries(Object.entries(e.payload.memberAssignment).map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]));
    log.info({ groupId: o.groupId, assignment: assigned }, 'joined the consumer group');
    resolveJoined();
  });
  consumer.on(consumer.events.CRASH, (e) => {
    const err = e.payload.error;
    if (e.payload.restart) {
      log.warn({ err: err.message }, 'consumer failed; kafkajs restarts it');
      return;
    }
    const fatal = transportFailure(err) ?? asOnexError(err, 'ONEX_EVENT_600', `the consumer stopped: ${err.message}`);
    log.error({ code: fatal.code, err: err.message }, fatal.message);
    void shutdown().then(() => rejectDone(fatal), () => rejectDone(fatal));
  });

  const eachBatch = batchLoop({
    processor,
    metrics,
    groupId: o.groupId,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    stats,
    stopping: () => stopping,
    abandoned: () => abandoned,
    stopSignal,
  });

  async function start(): Promise<void> {
    if (started) throw onexError('ONEX_RT_407', 'this worker was started already; create a new one');
    started = true;
    try {
      if (producer && o.deadLetter) {
        if (o.deadLetter.create) {
          const admin = kafka.admin();
          await admin.connect();
          try {
            const dlqTopics = [...new Set(o.topics.map((t) => o.deadLetter!.topicFor(t)))];
            await retryWhileRetriable(() => ensureTopics(admin, dlqTopics.map((topic) => ({ topic, partitions: o.deadLetter!.partitions, replicationFactor: o.deadLetter!.replicationFactor, minInsyncReplicas: o.deadLetter!.minInsyncReplicas }))));
          } finally {
            await admin.disconnect();
          }
        }
        await producer.connect();
      }
      // Only this worker's own consumer fetches through the one-pass decoder (not every client of these topics).
      const fastFetch = o.fastFetch && installFetchDecoder();
      await consumer.connect();
      await consumer.subscribe({ topics: o.topics, fromBeginning: options.fromBeginning ?? false });
      await withFastFetch(() => consumer.run({
        eachBatchAutoResolve: false,
        // Offsets of a long batch are committed on the way, not only at its end, so a crash re-delivers at most a few
        // seconds of work.
        autoCommitInterval: o.commitIntervalMs,
        partitionsConsumedConcurrently: o.concurrency,
        eachBatch,
      }), fastFetch);
      log.info({ groupId: o.groupId, topics: o.topics, targetVersion: o.targetVersion, concurrency: o.concurrency }, 'worker started');
    } catch (err) {
      const e: OnexError = transportFailure(err) ?? asOnexError(err, 'ONEX_EVENT_601', `the worker could not start consuming ${o.topics.join(', ')}: ${(err as Error).message}`);
      await shutdown().catch(() => undefined);
      rejectDone(e);
      throw e;
    }
  }

  async function shutdown(): Promise<void> {
    stopping = true;
    signalStop();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), o.shutdownTimeoutMs);
      timer.unref();
    });
    // consumer.disconnect() waits for the batch in hand (which ends after its current record), commits the
    // resolved offsets and leaves the group, so that the partitions move to another member at once.
    const result = await Promise.race([consumer.disconnect().then(() => 'ok' as const), timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      abandoned = true;
      log.error({ timeoutMs: o.shutdownTimeoutMs }, 'a handler did not finish within the shutdown timeout; its record stays uncommitted and will be redelivered');
    }
    if (producer) await producer.disconnect().catch(() => undefined);
    metrics.close();
  }

  function stop(): Promise<void> {
    stopPromise ??= shutdown().then(
      () => {
        log.info({ groupId: o.groupId, ...stats }, 'worker stopped');
        resolveDone();
      },
      (err: unknown) => {
        rejectDone(err);
        throw err;
      },
    );
    return stopPromise;
  }

  return {
    groupId: o.groupId,
    targetVersion: o.targetVersion,
    metrics,
    start,
    joined: () => joinedPromise,
    stop,
    done,
    assignment: () => assigned,
    stats: () => ({ ...stats }),
    readiness: () => ({ running: runningCheck(started, stopping), ...consumerReadiness.checks() }),
    handleSignals(signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']) {
      const onSignal = (signal: NodeJS.Signals) => {
        log.info({ signal }, 'stopping: draining the record in hand and committing');
        void stop().catch(() => undefined);
      };
      for (const s of signals) process.once(s, onSignal);
      return () => {
        for (const s of signals) process.off(s, onSignal);
      };
    },
  };
}

/** What createWorker.fromEnv needs beyond the environment: the connection options are optional there. */
export type WorkerFromEnvOptions = Omit<WorkerOptions, 'kafka'> & Partial<Pick<WorkerOptions, 'kafka'>>;

/**
 * A worker connected as the CLI is: Kafka from KAFKA_BROKERS and the ONEX_KAFKA_* variables, the registry from
 * SCHEMA_REGISTRY_URL (with SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO). `options` adds the rest and wins over the
 * environment.
 */
createWorker.fromEnv = function fromEnv(options: WorkerFromEnvOptions, env: NodeJS.ProcessEnv = process.env): Worker {
  const registry = options.registry ?? (options.decoder ? undefined : registryFromEnv(env));
  const kafka = options.kafka ?? connectionFromEnv(env, 'onex-worker').kafka;
  return createWorker({ ...options, kafka, ...(registry ? { registry } : {}) });
};
