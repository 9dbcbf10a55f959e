import type { IHeaders, Message } from 'kafkajs';
import type { AnyOnexEvent, OnexError, OnexEventType, SchemaVersion, UNKNOWN_EVENT_TYPE } from '../event/index.js';

/**
 * The types other modules (and the worker's own files) import from the worker: a record as the worker sees it, its
 * outcome, the handler contract, and where dead letters go. The decoder contract is the codec's (EventDecoder).
 */
import type { DecodedEvent } from '../codec/types.js';
export type { DecodedEvent, EventDecoder } from '../codec/types.js';

export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
}

/** Where dead letters go; the worker's is a kafkajs producer (idempotent, acks=all). */
export interface DeadLetterSink {
  send(topic: string, message: Message): Promise<void>;
}

/** The stage of the worker's path where a record failed; it picks the ONEX code of a failure that has none. */
export type FailureStage = 'decode' | 'verify' | 'validate' | 'handle';

/**
 * The named stages of a record's way through the worker, in order. A record runs them synchronously while it can and
 * becomes asynchronous only at a stage that must wait (a writer schema to fetch, a key to verify with, an
 * asynchronous handler); a retry resumes at the stage that failed, so what an earlier attempt did is not done again.
 * commit: the record is done, its outcome counted; the batch loop then resolves its offset with kafkajs.
 */
export type StageName = 'decode' | 'verify' | 'validate' | 'route' | 'handle' | 'commit';

/** One record between stages: what the stages so far have made of it. */
export interface RecordInFlight {
  readonly record: SourceRecord;
  readonly control: ProcessControl;
  /** 1 on the first attempt, 2 on the first retry, ... */
  attempts: number;
  /** performance.now() when the current attempt began (the latency metric). */
  started: number;
  /** After decode: the event (in the target version once verify has run) and where it came from. */
  decoded: DecodedEvent<object> | undefined;
  /** After route: the handler of the event's type (undefined: none, the record is unhandled). */
  route: { handler: EventHandler | undefined; known: boolean } | undefined;
  /** After commit: the record's fate. */
  outcome: RecordOutcome | undefined;
  /** Set by a stage that does two things: where a failure from here on in the stage is counted (default: the stage's own). */
  failAs: FailureStage | undefined;
}

/**
 * A stage: a name and a step that either returns (done, synchronously) or returns a promise (the record waits).
 * A thrown or rejected failure is classified by `failAs` (default: the stage's name, route and commit as handle).
 */
export interface RecordStage {
  readonly name: StageName | string;
  readonly failAs?: FailureStage;
  /** A returned promise (any thenable) is waited for; anything else means the stage is done. */
  run(r: RecordInFlight): unknown;
}

/** The record's fate. `interrupted`: the worker is stopping and the record was neither handled nor dead-lettered. */
export type RecordOutcome =
  | { status: 'handled' | 'unhandled'; attempts: number; eventType: string }
  | { status: 'dead_lettered' | 'dropped'; attempts: number; error: OnexError; stage: FailureStage }
  | { status: 'interrupted'; attempts: number };

/** A record that failed for good; handed to `onFailure` after it went to the dead-letter topic (or was dropped). */
export interface RecordFailure {
  record: SourceRecord;
  error: OnexError;
  stage: FailureStage;
  attempts: number;
  deadLetterTopic: string | undefined;
}

/** What the batch loop lends the processor: liveness and a way to know it should stop waiting. */
export interface ProcessControl {
  heartbeat(): Promise<void>;
  /** Waits `ms` (heartbeating on the way); false when the worker began to stop meanwhile. */
  wait(ms: number): Promise<boolean>;
  stopping(): boolean;
}

/** Where a record came from and what the worker knows about it; handed to every handler call. */
export interface HandlerContext {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  headers: IHeaders;
  /** The event's id, for idempotent handlers (see EventIdDedupe). */
  eventId: string | undefined;
  /** The version the producer wrote; the event itself is already in `targetVersion`. */
  writerVersion: SchemaVersion;
  targetVersion: SchemaVersion;
  /** The writer schema's registry id; 0 for an event that came as a structured-mode CloudEvent (JSON, no schema). */
  schemaId: number;
  /** 1 on the first try, 2 on the first retry, ... */
  attempt: number;
  /** Tells the group coordinator this worker is alive; call it inside a handler that runs for many seconds. */
  heartbeat(): Promise<void>;
}

export type EventHandler<E = AnyOnexEvent> = (event: E, ctx: HandlerContext) => unknown;

/** Handlers by event type; `'*'` is the catch-all, which also receives every event of a type this worker does not know. */
export type HandlerMap = Partial<Record<OnexEventType | typeof UNKNOWN_EVENT_TYPE | '*', EventHandler>>;

/** What a worker counted since it started (Worker.stats()). */
export interface WorkerStats {
  handled: number;
  unhandled: number;
  deadLettered: number;
  dropped: number;
  batches: number;
}
