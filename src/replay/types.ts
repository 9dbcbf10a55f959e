import type { Kafka } from 'kafkajs';
import type { OnexEventCodec } from '../codec/index.js';
import type { SchemaVersion } from '../event/index.js';
import type { RecordSecurity, SecurityPolicy, SecurityPolicyOptions } from '../security/index.js';

/**
 * The types other modules import from replay: what to replay and how (ReplayOptions and the pacing it takes), its
 * progress and summary, and the ranges and events the reader yields (the correlation processors read with them).
 */

export type ReplaySpeed = number | 'max';

export interface ScheduleClock {
  /** Milliseconds, monotonic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * How the pacer waits for a due time. Node's timers have 1 ms granularity and fire at least a little late, so a
 * timer alone releases every event late by up to ~1 ms plus the event loop's delay, one event per wake-up.
 * earlyMs: an event due within this many ms is released now, and a timer is set to that much before the due time:
 * events due within one timer tick of each other go out in one turn of the loop (one wake-up, fewer sends) and the
 * timer's lateness is centred on the due time instead of added to it; no event leaves more than earlyMs early.
 * 0: timers only, never early. (Spinning on setImmediate to the due time was measured too and lost under load: the
 * CPU it burns is taken back by the OS as longer stalls; bench/README.md.)
 */
export interface PacerOptions {
  earlyMs?: number;
}

export interface PartitionRange {
  partition: number;
  /** First offset to read. */
  from: bigint;
  /** Offset to stop before (exclusive). */
  to: bigint;
}

export interface ReadEvent {
  event: Record<string, unknown>;
  writerVersion: SchemaVersion;
  partition: number;
  offset: string;
  /** The Kafka record timestamp (ms). */
  recordTimeMs: number;
  /** Metadata paths that held ciphertext envelopes in the record as written (absent: none). */
  encrypted?: readonly string[];
}

export type ReplaySelection =
  | { correlationId: string; withChildren?: boolean }
  | { fromMs: number; toMs: number };

export interface ReplayOptions {
  kafka: Kafka;
  codec: OnexEventCodec;
  sourceTopic: string;
  toTopic: string;
  selection: ReplaySelection;
  /** A CEL expression over `event` (the event in the target version); only events it is true for are replayed. */
  where?: string;
  speed?: ReplaySpeed;
  targetVersion?: SchemaVersion;
  dryRun?: boolean;
  allowSourceTopic?: boolean;
  /** Where the flow's records are (the correlation index); default the producer's partitioner over the count now. */
  rangesFor?: (correlationId: string) => Promise<PartitionRange[] | undefined>;
  /** A flow and its descendants and where their records are (the correlation index); default a scan of the topic. */
  treeFor?: (correlationId: string) => Promise<{ ids: string[]; ranges: PartitionRange[] } | undefined>;
  replayId?: string;
  /**
   * Verify signatures and decrypt fields of what is read, as the worker does (its RecordSecurity, docs/security.md
   * "In replay"): a record that fails is counted in `skipped` by its code (606, 607, 630-633) and the replay goes on.
   */
  security?: RecordSecurity;
  /**
   * The security policy of the copies (the producer's `security` option): a copy is a new event (its own event_id),
   * so its fields are encrypted and it is signed anew. An event whose encrypted fields the policy would not encrypt
   * again is not replayed (ONEX_EVENT_638), nor is one whose fields the replay could not decrypt (ONEX_EVENT_637).
   */
  emitSecurity?: SecurityPolicy | SecurityPolicyOptions;
  signal?: AbortSignal;
  clock?: ScheduleClock;
  /** How the pacer waits (PacerOptions; default DEFAULT_PACER in schedule.ts). Flag onex.replay.pacer off: timers only. */
  pacer?: PacerOptions;
  onProgress?: (p: ReplayProgress) => void;
}

export interface ReplayProgress {
  emitted: number;
  total: number;
  elapsedMs: number;
  etaMs: number;
}

export interface ReplaySummary {
  replay_id: string;
  dry_run: boolean;
  source_topic: string;
  to_topic: string;
  speed: ReplaySpeed;
  target_version: SchemaVersion;
  /** Events selected (after --where). */
  count: number;
  emitted: number;
  records_read: number;
  skipped: Record<string, number>;
  versions: Record<string, number>;
  first_timestamp: string | null;
  last_timestamp: string | null;
  /** Span of the original events and what it takes at the speed. */
  span_ms: number;
  duration_ms: number;
  elapsed_ms: number;
  /** True when stopped (Ctrl-C) before the end. */
  interrupted: boolean;
  failed: number;
}
