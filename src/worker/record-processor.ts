import { performance } from 'node:perf_hooks';
import {
  LATEST_VERSION,
  majorOf,
  onexError,
  validateDecodedEvent,
  type AnyOnexEvent,
  type OnexError,
  type SchemaVersion,
  type ValidationMode,
} from '../event/index.js';
import type { Logger } from '../telemetry/types.js';
import { isStructuredCloudEvent, readStructuredCloudEvent, structuredEvent } from '../codec/index.js';
import { flags as processFlags, type FlagSet } from '../flags/index.js';
import { activeProfiler, activeRecordTrace } from '../telemetry/internal.js';
import { buildDeadLetter } from './dead-letter.js';
import type { HandlerRouter, Route } from './handlers.js';
import type { WorkerMetrics } from './metrics.js';
import type { RecordSecurity } from '../security/index.js';
import { transformEvent } from '../schema/index.js';
import { backoffDelay, type Backoff } from '../retry/index.js';
import { attemptDelay, classifyFailure, shouldRetry, type RetryPolicy } from './retry.js';
import type {
  DeadLetterSink,
  DecodedEvent,
  EventDecoder,
  EventHandler,
  FailureStage,
  HandlerContext,
  ProcessControl,
  RecordFailure,
  RecordInFlight,
  RecordOutcome,
  RecordStage,
  SourceRecord,
} from './types.js';

/**
 * One record's way through the worker, as named stages (StageName): decode (schema id -> writer schema -> detect
 * version -> upcast or downcast to the target, all inside the decoder), verify (signature and field decryption, when
 * the worker has security), validate, route by event type, handle, commit (the outcome counted). One pipeline: the
 * first attempt runs the stages without a promise as long as none must wait, a failure is classified once by the
 * stage it happened in, and a retry resumes at that stage; then dead-letter. Knows nothing of kafkajs, so that every
 * branch is testable without a broker.
 */

export interface RecordProcessorOptions {
  decoder: EventDecoder;
  router: HandlerRouter;
  targetVersion: SchemaVersion;
  validation: ValidationMode | 'off';
  retry: RetryPolicy;
  /** Undefined: failures are dropped after `onFailure` (the `onex consume` mode). */
  deadLetter: { topicFor(sourceTopic: string): string; sink: DeadLetterSink } | undefined;
  /** How a dead letter that could not be written is retried (until it is: the record must not be lost). */
  deadLetterBackoff: Backoff;
  groupId: string;
  metrics: WorkerMetrics;
  deprecatedVersions: ReadonlySet<SchemaVersion>;
  log: Logger;
  onFailure?: (failure: RecordFailure) => void;
  /** Signature verification and field decryption before validation and handlers (src/security). */
  security?: RecordSecurity;
  /** onex.worker.cloudevents switches reading structured-mode CloudEvents records (asked only for such records). */
  flags?: FlagSet;
  /**
   * Where a module adds a step of its own: given the worker's stages in order (by name), returns the stages to run.
   * Default: the worker's stages as they are.
   */
  stages?: (defaults: readonly RecordStage[]) => readonly RecordStage[];
  /**
   * What a handler call is profiled as: `<profileAs> <event_type>`. Default `handle` (a worker's handlers). A processor
   * gives its own name, so in one process (onex dev) its evaluation is not mixed into the worker's `handle` profile.
   */
  profileAs?: string;
}

/** advance() ran every stage; the outcome is in the record. Otherwise it returns the index of the failed stage. */
const DONE = -1;

/** Where a failure of a stage is counted when the stage does not say: route and commit fail only through a bug. */
const FAILS_AS: Record<string, FailureStage> = { decode: 'decode', verify: 'verify', validate: 'validate', route: 'handle', handle: 'handle', commit: 'handle' };

/**
 * The verify stage decrypts into the decoded event: it was made for this record by the decoder and nothing else holds
 * it, so copying it and its metadata per record would only make garbage.
 */
const IN_PLACE = { inPlace: true } as const;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function';
}

/** A record in flight; a class so that every record has one hidden class on the hot path. */
class InFlight implements RecordInFlight {
  attempts = 1;
  started = performance.now();
  decoded: DecodedEvent<object> | undefined = undefined;
  route: Route | undefined = undefined;
  outcome: RecordOutcome | undefined = undefined;
  failAs: FailureStage | undefined = undefined;
  /** What the failed stage threw. */
  thrown: unknown = undefined;
  /** decoded holds the event as written (not yet in the target version): verify transforms it after checking it. */
  written = false;
  constructor(
    readonly record: SourceRecord,
    readonly control: ProcessControl,
  ) {}
}

export class RecordProcessor {
  private readonly warnedDeprecated = new Set<SchemaVersion>();
  /** The stages in the order they run; see StageName. */
  readonly stages: readonly RecordStage[];
  /**
   * Whether records are decoded as written and upcast after verify: a secured worker whose target is an older major
   * than the latest, since a newer major's encrypted fields must be decrypted before it is downcast.
   */
  private readonly decodesWritten: boolean;

  constructor(private readonly o: RecordProcessorOptions) {
    this.decodesWritten = o.security !== undefined && majorOf(o.targetVersion) < majorOf(LATEST_VERSION) && o.decoder.decodeWritten !== undefined;
    const defaults: RecordStage[] = [{ name: 'decode', run: (r) => this.decode(r as InFlight) }];
    if (o.security !== undefined) defaults.push({ name: 'verify', run: (r) => this.verify(r as InFlight, o.security!) });
    if (o.validation !== 'off') defaults.push({ name: 'validate', run: (r) => this.validate(r.decoded!.event as AnyOnexEvent) });
    defaults.push(
      { name: 'route', run: (r) => void (r.route = this.route(r.decoded!.event as AnyOnexEvent)) },
      { name: 'handle', run: (r) => (r.route!.handler ? this.invoke(r.route!.handler, r.decoded!.event as AnyOnexEvent, this.context(r)) : undefined) },
      { name: 'commit', run: (r) => void (r.outcome = this.commit(r)) },
    );
    this.stages = o.stages ? o.stages(Object.freeze(defaults)) : defaults;
  }

  /**
   * A record through the stages: without a promise when no stage must wait (the writer schema known, a synchronous
   * handler that succeeds, which is nearly every record). At tens of thousands of records a second, the promises and
   * event-loop turns of an async path per record were a visible share of the worker's own cost.
   */
  process(record: SourceRecord, control: ProcessControl): RecordOutcome | Promise<RecordOutcome> {
    const r = new InFlight(record, control);
    const at = this.advance(r, 0);
    if (typeof at === 'number') return at === DONE ? r.outcome! : this.recover(r, at);
    return at.then((failed) => (failed === DONE ? r.outcome! : this.recover(r, failed)));
  }

  /** Runs the stages from `from` on, synchronously until one returns a promise: DONE, or the index of the failed stage. */
  private advance(r: InFlight, from: number): number | Promise<number> {
    const stages = this.stages;
    for (let i = from; i < stages.length; i++) {
      r.failAs = undefined;
      let pending: unknown;
      try {
        pending = stages[i]!.run(r);
      } catch (thrown) {
        r.thrown = thrown;
        return i;
      }
      if (isThenable(pending)) return this.await(r, i, pending);
    }
    return DONE;
  }

  private async await(r: InFlight, at: number, pending: PromiseLike<unknown>): Promise<number> {
    try {
      await pending;
    } catch (thrown) {
      r.thrown = thrown;
      return at;
    }
    return this.advance(r, at + 1);
  }

  /** A stage failed: counted once, then retried from that stage while the policy allows, else dead-lettered. */
  private async recover(r: InFlight, failedAt: number): Promise<RecordOutcome> {
    const o = this.o;
    const { record } = r;
    for (let at = failedAt; ; ) {
      const failed = this.stages[at]!;
      const stage = r.failAs ?? failed.failAs ?? FAILS_AS[failed.name] ?? 'handle';
      const error = classifyFailure(stage, r.thrown);
      r.thrown = undefined;
      o.metrics.recordError(stage, error.code);
      if (!shouldRetry(o.retry, error, r.attempts)) return this.fail(record, error, stage, r.attempts, r.decoded, r.control);
      const where = { code: error.code, stage, attempts: r.attempts, topic: record.topic, partition: record.partition, offset: record.offset };
      if (o.retry.outageCodes.includes(error.code)) o.log.warn(where, `waiting for a dependency: ${error.message}`);
      else o.log.debug(where, 'retrying a failed record');
      if (!(await r.control.wait(attemptDelay(o.retry, r.attempts + 1)))) return { status: 'interrupted', attempts: r.attempts };
      r.attempts++;
      r.started = performance.now();
      at = await this.advance(r, at);
      if (at === DONE) return r.outcome!;
    }
  }

  // ---- the stages ----

  /**
   * The event in the target version, or (with security, a 1.x target and a decoder that can) as written, for verify
   * to check before it is transformed: a 2.0.0 event with encrypted fields cannot be downcast to 1.x before its fields
   * are decrypted (ONEX_SCHEMA_702). A 2.x target is only ever reached by upcasting, which carries the ciphertexts
   * where they decrypt (docs/security.md), so a secured worker on 2.0.0 decodes straight to it, as one without
   * security does, instead of decoding as written and upcasting the decoded object after.
   */
  private decode(r: InFlight): void | Promise<void> {
    const o = this.o;
    const value = r.record.value;
    if (value === null || value.length === 0) {
      throw onexError('ONEX_EVENT_604', 'The record has no value (a tombstone or an empty message), so there is no event to decode.');
    }
    if (this.isStructured(r.record)) {
      // A CloudEvents structured-mode record from a producer that is not ours: JSON, no registry schema.
      const ce = readStructuredCloudEvent(value);
      r.failAs = 'validate';
      return this.decoded(r, structuredEvent(ce, o.targetVersion), false);
    }
    if (this.decodesWritten) {
      const written = o.decoder.decodeWrittenSync?.(value);
      if (written) return this.decoded(r, written, true);
      return o.decoder.decodeWritten!(value).then((d) => this.decoded(r, d, true));
    }
    const known = o.decoder.decodeSync?.(value, o.targetVersion);
    if (known) return this.decoded(r, known, false);
    return o.decoder.decode(value, o.targetVersion).then((d) => this.decoded(r, d, false));
  }

  private decoded(r: InFlight, decoded: DecodedEvent<object>, written: boolean): void {
    r.decoded = decoded;
    r.written = written;
    r.failAs = undefined;
    this.noteWriterVersion(decoded.writerVersion);
  }

  /**
   * Signature and encrypted fields checked at the writer's version; then the event is taken to the target version.
   * Synchronous while the keys it needs are cached (RecordSecurity.checkNow), so a secured record keeps the
   * worker's path without a promise.
   */
  private verify(r: InFlight, security: RecordSecurity): void | Promise<void> {
    const checked = security.checkNow(r.record.value!, r.record.headers, r.decoded!.event as AnyOnexEvent, r.decoded!.writerVersion, IN_PLACE);
    if (checked instanceof Promise) return checked.then((event) => this.verified(r, event));
    this.verified(r, checked);
  }

  private verified(r: InFlight, checked: AnyOnexEvent): void {
    const d = r.decoded!;
    r.failAs = 'decode';
    const event = r.written && d.writerVersion !== this.o.targetVersion ? transformEvent(checked, this.o.targetVersion) : checked;
    if (event !== d.event) r.decoded = { ...d, event };
    r.written = false;
  }

  /**
   * A structured-mode CloudEvent: its value is JSON, never the wire format's zero magic byte, so a record of ours costs
   * one byte comparison here and its headers are not looked at.
   */
  private isStructured(record: SourceRecord): boolean {
    return record.value![0] !== 0 && isStructuredCloudEvent(record.headers) && (this.o.flags ?? processFlags).isEnabled('onex.worker.cloudevents', true);
  }

  /** The handler for the event's type; an unknown type is counted (once per record: the caller asks once). */
  private route(event: AnyOnexEvent): Route {
    const route = this.o.router.route(event.event_type);
    if (!route.known) this.o.metrics.recordUnknownType();
    return route;
  }

  private context(r: RecordInFlight): HandlerContext {
    const { record, decoded } = r;
    const event = decoded!.event as AnyOnexEvent;
    return {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key,
      headers: record.headers ?? {},
      eventId: typeof event.event_id === 'string' ? event.event_id : undefined,
      writerVersion: decoded!.writerVersion,
      targetVersion: this.o.targetVersion,
      schemaId: decoded!.schemaId,
      attempt: r.attempts,
      heartbeat: r.control.heartbeat,
    };
  }

  /** Calls the handler; inside the record's consumer span when the worker traces (see src/telemetry/record-span.ts). */
  private invoke(handler: EventHandler, event: AnyOnexEvent, ctx: HandlerContext): unknown {
    const t = activeRecordTrace();
    const profiler = activeProfiler();
    if (!t) return profiler ? profiler.profile(`${this.o.profileAs ?? 'handle'} ${event.event_type}`, () => handler(event, ctx)) : handler(event, ctx);
    const versions = { writer: ctx.writerVersion, target: ctx.targetVersion, validated: this.o.validation !== 'off', attempt: ctx.attempt };
    // Profiled inside the record's span, so the slowest call's trace is the profile's exemplar.
    if (profiler) return t.handle((e, c) => profiler.profile(`${this.o.profileAs ?? 'handle'} ${event.event_type}`, () => handler(e, c)), event, ctx, versions);
    return t.handle(handler, event, ctx, versions);
  }

  /** The record is done: handled (with its latency) or unhandled (no handler for its type), counted either way. */
  private commit(r: RecordInFlight): RecordOutcome {
    const eventType = (r.decoded!.event as AnyOnexEvent).event_type;
    if (!r.route!.handler) {
      this.o.metrics.recordProcessed(eventType, 'unhandled');
      return { status: 'unhandled', attempts: r.attempts, eventType };
    }
    this.o.metrics.recordLatency(r.decoded!.writerVersion, (performance.now() - r.started) / 1000);
    this.o.metrics.recordProcessed(eventType, 'handled');
    return { status: 'handled', attempts: r.attempts, eventType };
  }

  /**
   * The decoder typed the event by the target version's schema: only what a schema cannot say is left to check
   * (validateDecodedEvent, with validateEvent's codes). What strict and non-strict mean is validation's one decision
   * (enforceValidation): strict throws, non-strict returns the violations, counted and logged here.
   */
  private validate(event: AnyOnexEvent): void {
    const mode = this.o.validation;
    if (mode === 'off') return; // no validate stage then; kept for a stage list that names it anyway
    const result = validateDecodedEvent(event, this.o.targetVersion, { mode });
    if (result.valid) return;
    for (const e of result.errors) this.o.metrics.recordError('validate', e.code);
    this.o.log.warn({ event_id: (event as { event_id?: unknown }).event_id, violations: result.errors.map((e) => `${e.code}: ${e.message}`) }, 'event failed validation (non-strict: handled anyway)');
  }

  private noteWriterVersion(version: SchemaVersion): void {
    this.o.metrics.recordWriterVersion(version);
    if (!this.o.deprecatedVersions.has(version)) return;
    this.o.metrics.recordDeprecated(version);
    if (!this.warnedDeprecated.has(version)) {
      this.warnedDeprecated.add(version);
      this.o.log.warn({ version, targetVersion: this.o.targetVersion }, `events written in deprecated schema version ${version} are still arriving (warned once per version)`);
    }
  }

  private async fail(
    record: SourceRecord,
    error: OnexError,
    stage: FailureStage,
    attempts: number,
    decoded: DecodedEvent<object> | undefined,
    control: ProcessControl,
  ): Promise<RecordOutcome> {
    const o = this.o;
    const eventType = (decoded?.event as { event_type?: unknown } | undefined)?.event_type;
    const where = { topic: record.topic, partition: record.partition, offset: record.offset, code: error.code, stage, attempts };
    let deadLetterTopic: string | undefined;
    if (o.deadLetter) {
      deadLetterTopic = o.deadLetter.topicFor(record.topic);
      const message = buildDeadLetter(record, { error, attempts, groupId: o.groupId });
      // The offset of this record is resolved only after the dead letter is on the broker: until then the record
      // stays uncommitted, and a worker that stops here leaves it to the next owner of the partition.
      for (let retry = 1; ; retry++) {
        try {
          await o.deadLetter.sink.send(deadLetterTopic, message);
          break;
        } catch (cause) {
          const e = onexError('ONEX_EVENT_611', `could not write the dead letter to ${deadLetterTopic}: ${(cause as Error).message}`, { cause });
          o.metrics.recordError('dead_letter', e.code);
          o.log.error({ ...where, deadLetterTopic, err: (cause as Error).message }, e.message);
          if (!(await control.wait(backoffDelay(o.deadLetterBackoff, retry)))) return { status: 'interrupted', attempts };
        }
      }
      o.metrics.recordDeadLetter(error.code);
      o.metrics.recordProcessed(eventType, 'dead_lettered');
      o.log.warn({ ...where, deadLetterTopic, reason: error.message }, 'record dead-lettered');
    } else {
      o.metrics.recordProcessed(eventType, 'dropped');
    }
    try {
      o.onFailure?.({ record, error, stage, attempts, deadLetterTopic });
    } catch (err) {
      // The record is dealt with (dead-lettered or dropped); a failing callback must not make the batch fail and the
      // record come round again.
      o.log.error({ ...where, err: (err as Error).message }, 'the onFailure callback threw; ignored');
    }
    return { status: deadLetterTopic ? 'dead_lettered' : 'dropped', attempts, error, stage };
  }
}
