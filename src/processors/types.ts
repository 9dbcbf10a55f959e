import type { CheckResult } from '../health/types.js';
import type { IHeaders, Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { AnyOnexEvent, SchemaVersion } from '../event/index.js';
import type { Logger } from '../telemetry/types.js';
import type { EventDecoder, RetryPolicy } from '../worker/index.js';

/**
 * The types of the processor runtime: what a processor definition implements, what its handlers are given, and the
 * options of createProcessor. Other modules (alerting, correlation) import them from here through index.ts.
 *
 * Times are event-time milliseconds since the epoch unless a name says otherwise.
 */

/** Bounds of one named keyed store; both are counted when they remove an entry (onex_processor_state_evictions_total). */
export interface StoreOptions {
  /** At most this many keys per partition; the least recently used key is evicted past it. Default unbounded. */
  maxKeys?: number;
  /** A key not written for this long in event time (behind the watermark) expires. Default never. */
  ttlMs?: number;
}

/** A keyed store of one partition. Values must survive JSON (they go to the changelog as JSON). */
export interface KeyedStore<V = unknown> {
  get(key: string): V | undefined;
  /** Writes (and marks the key recently used); the change reaches the changelog with the batch's transaction. */
  put(key: string, value: V): void;
  delete(key: string): void;
  has(key: string): boolean;
  readonly size: number;
  keys(): IterableIterator<string>;
}

/** A record a handler emits; it is written in the same transaction as the state changes and the input offsets. */
export interface OutputRecord {
  topic: string;
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: IHeaders;
  partition?: number;
}

/** What every handler call (record or timer) may do. */
export interface TaskContext {
  readonly topic: string;
  readonly partition: number;
  /** The partition's watermark: the largest event time seen minus the allowed lateness (-Infinity before any). */
  readonly watermark: number;
  store<V = unknown>(name: string): KeyedStore<V>;
  emit(record: OutputRecord): void;
  /** Fires `onTimer(id, at)` once the watermark reaches `at`; setting an id again moves its timer. Persisted. */
  setTimer(id: string, at: number): void;
  cancelTimer(id: string): void;
  /** The time a timer of this id is set for, if any. */
  timer(id: string): number | undefined;
}

/** The context of one input record. */
export interface RecordContext extends TaskContext {
  readonly offset: string;
  /** The event's timestamp in milliseconds. */
  readonly eventTime: number;
  /** True when eventTime is behind the watermark (only seen with late: 'process'). */
  readonly late: boolean;
  readonly writerVersion: SchemaVersion;
  readonly eventId: string | undefined;
}

/**
 * A stateful processor. `process` runs for each record in partition order, `onTimer` for each timer the watermark
 * passed. Both run inside the partition's open transaction: throw, and the record's state changes and emitted records
 * are undone (the worker's retry and dead-letter rules then apply to that record).
 */
export interface ProcessorDefinition {
  /** The `processor` label of the metrics. */
  name: string;
  /** Named stores and their bounds; a store used without being declared here is unbounded. */
  stores?: Record<string, StoreOptions>;
  process(event: AnyOnexEvent, ctx: RecordContext): void;
  onTimer?(id: string, at: number, ctx: TaskContext): void;
  /**
   * Runs once per transaction, after its last record or timer and before the commit: the place to emit the last
   * value of each key a batch changed once, rather than once per record. Throw, and the whole batch is undone.
   */
  endBatch?(ctx: TaskContext): void;
}

export type LatePolicy = 'drop' | 'process';

export interface EventTimeOptions {
  /** How far behind the largest event time seen the watermark trails (default 5 s). */
  allowedLatenessMs?: number;
  /** What happens to an event behind the watermark; it is counted either way (default 'drop'). */
  late?: LatePolicy;
  /**
   * The processing-time tick: every intervalMs, a partition that has had no record for idleAfterMs moves its
   * watermark up to the wall clock minus the allowed lateness, so timers of idle keys still fire. false: event time
   * only. Default { intervalMs: 1000, idleAfterMs: 2000 }.
   */
  tick?: { intervalMs: number; idleAfterMs: number } | false;
}

export interface ProcessorOptions extends EventTimeOptions {
  kafka: Kafka;
  /** The consumer group, and the prefix of the changelog topic and the transactional ids. */
  groupId: string;
  /** One input topic: a partition's state is that partition's, so tasks map one to one onto input partitions. */
  topic: string;
  decoder: EventDecoder;
  definition: ProcessorDefinition;
  targetVersion?: SchemaVersion;
  validation?: 'strict' | 'non-strict' | 'off';
  retry?: Partial<RetryPolicy>;
  /** Dead-letter topic of records that fail for good (written in the transaction); default `<topic>.dlq`. */
  deadLetterTopic?: string;
  /** Default `<groupId>-changelog`; created compacted with the input topic's partition count. */
  changelogTopic?: string;
  /**
   * Topics the definition emits to, created (one partition) at start when missing. The transactional producers do not
   * create topics: a send to a missing one fails the transaction, which aborts and is retried until the topic exists.
   */
  outputTopics?: string[];
  /** Replication of the changelog, dead-letter and output topics when the processor creates them (default 3 on 3+ brokers, else 1). */
  replicationFactor?: number;
  /** Their min.insync.replicas (default 2 on 3+ brokers, else 1). */
  minInsyncReplicas?: number;
  fromBeginning?: boolean;
  /** Partitions processed at the same time (default 4). */
  concurrency?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxWaitTimeMs?: number;
  /** Transaction timeout the broker enforces on a producer that went silent (default 30 s). */
  transactionTimeoutMs?: number;
  deprecatedVersions?: SchemaVersion[];
  metricsRegistry?: Registry;
  logger?: Logger;
}

export interface ProcessorStats {
  recordsIn: number;
  recordsOut: number;
  commits: number;
  aborts: number;
  late: number;
  restores: number;
}

export interface Processor {
  readonly groupId: string;
  readonly changelogTopic: string;
  start(): Promise<void>;
  /** Resolves once the first assignment's partitions are restored and processing. */
  ready(): Promise<void>;
  stop(): Promise<void>;
  readonly done: Promise<void>;
  assignment(): number[];
  stats(): ProcessorStats;
  handleSignals(signals?: NodeJS.Signals[]): () => void;
  /** What /readyz reports: `running`, `kafka`, `group` (as the worker's) and `state` (every assigned partition restored). */
  readiness(): Record<string, CheckResult>;
}
