import { performance } from 'node:perf_hooks';
import {
  ALL_EVENT_TYPES,
  onexError,
  validateDecodedEvent,
  type AnyOnexEvent,
  type OnexError,
  type SchemaVersion,
  type ValidationMode,
} from '../event/index.js';
import type { Logger } from '../telemetry/logger.js';
import { isStructuredCloudEvent, readStructuredCloudEvent, structuredEvent } from '../codec/index.js';
import { flags as processFlags, type FlagSet } from '../flags/index.js';
import { activeProfiler } from '../telemetry/profiler.js';
import { activeRecordTrace } from '../telemetry/record-span.js';
import { buildDeadLetter } from './dead-letter.js';
import type { HandlerRouter, Route } from './handlers.js';
import type { WorkerMetrics } from './metrics.js';
import type { RecordSecurity } from '../security/record-security.js';
import { transformEvent } from '../schema/transform.js';
import { BACKOFFS, backoffDelay, type Backoff } from '../retry/index.js';
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
  RecordOutcome,
  SourceRecord,
} from './types.js';

/**
 * One record's way through the worker: decode (schema id -> writer schema -> detect version -> upcast or downcast to
 * the target, all inside the decoder), validate, route by event type, handle; on failure retry what may succeed
 * later, then dead-letter. Knows nothing of kafkajs, so that every branch is testable without a broker.
 */

export interface RecordProcessorOptions {
  decoder: EventDecoder;
  router: HandlerRouter;
  targetVersion: SchemaVersion;
  validation: ValidationMode | 'off';
  retry: RetryPolicy;
  /** Undefined: failures are dropped after `onFailure` (the `onex consume` mode). */
  deadLetter: { topicFor(sourceTopic: string): string; sink: DeadLetterSink } | undefined;
  /** Backoff of the dead-letter write itself; it is retried until it succeeds or the worker stops. */
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
}

/** Validation reports every violation; the worker decides what strict means for it (see validate). */
const NON_STRICT = { mode: 'non-strict' } as const;
const KNOWN = new Set<string>(ALL_EVENT_TYPES);

/** Where the general path picks a record up: what an earlier attempt did, and how it failed if it did. */
interface Resume {
  decoded?: DecodedEvent<object>;
  validated?: boolean;
  /** The record's unknown type (if it is one) was counted already. */
  countedUnknown?: boolean;
  attempts?: number;
  failure?: { stage: FailureStage; thrown: unknown };
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function';
}

export class RecordProcessor {
  private readonly warnedDeprecated = new Set<SchemaVersion>();

  constructor(private readonly o: RecordProcessorOptions) {}

  /**
   * The record's first attempt runs without a promise when it can (the decoder knows the writer schema, the handler
   * is synchronous and succeeds): at tens of thousands of records a second, the promises and event-loop turns of an
   * async path per record were a visible share of the worker's own cost. Everything else (a schema to fetch, an
   * asynchronous handler, any failure) continues on the general path, which retries and dead-letters.
   */
  process(record: SourceRecord, control: ProcessControl): RecordOutcome | Promise<RecordOutcome> {
    const o = this.o;
    if (o.security !== undefined || o.decoder.decodeSync === undefined || record.value === null || record.value.length === 0) return this.run(record, control, {});
    const started = performance.now();
    let decoded: DecodedEvent<object> | undefined;
    try {
      decoded = o.decoder.decodeSync(record.value, o.targetVersion);
    } catch {
      // The general path decodes again and says why it cannot.
    }
    if (!decoded) return this.run(record, control, {});
    this.noteWriterVersion(decoded.writerVersion);
    const event = decoded.event as AnyOnexEvent;
    try {
      this.validate(event, KNOWN.has(event.event_type));
    } catch {
      return this.run(record, control, { decoded });
    }
    const route = this.route(event);
    if (!route.handler) return this.unhandled(event, 1);
    let pending: unknown;
    try {
      pending = this.invoke(route.handler, event, this.context(record, event, decoded, 1, control));
    } catch (thrown) {
      return this.run(record, control, { decoded, validated: true, countedUnknown: true, attempts: 1, failure: { stage: 'handle', thrown } });
    }
    if (isThenable(pending)) {
      const d = decoded;
      return Promise.resolve(pending).then(
        () => this.handled(d, event, started, 1),
        (thrown: unknown) => this.run(record, control, { decoded: d, validated: true, countedUnknown: true, attempts: 1, failure: { stage: 'handle', thrown } }),
      );
    }
    return this.handled(decoded, event, started, 1);
  }

  /** The general path: every attempt, from `from` on (what an earlier attempt already did, or how it failed). */
  private async run(record: SourceRecord, control: ProcessControl, from: Resume): Promise<RecordOutcome> {
    const o = this.o;
    let { decoded, attempts = 0, failure } = from;
    let validated = from.validated ?? false;
    let secured = o.security === undefined || validated;
    let countedUnknown = from.countedUnknown ?? false;
    for (;;) {
      if (!failure) {
        attempts++;
        const started = performance.now();
        let stage: FailureStage = 'decode';
        try {
          if (!decoded) {
            if (record.value === null || record.value.length === 0) {
              throw onexError('ONEX_EVENT_604', 'The record has no value (a tombstone or an empty message), so there is no event to decode.');
            }
            if (this.isStructured(record)) {
              // A CloudEvents structured-mode record from a producer that is not ours: JSON, no registry schema.
              const ce = readStructuredCloudEvent(record.value);
              stage = 'validate';
              decoded = structuredEvent(ce, o.targetVersion);
              stage = 'decode';
              this.noteWriterVersion(decoded.writerVersion);
            } else if (!secured && o.security !== undefined && o.decoder.decodeWritten !== undefined) {
              // Verified and decrypted at the writer's version, then transformed: a 2.0.0 event with encrypted
              // fields cannot be downcast to 1.x before its fields are decrypted (ONEX_SCHEMA_702).
              const written = await o.decoder.decodeWritten(record.value);
              this.noteWriterVersion(written.writerVersion);
              stage = 'verify';
              const checked = await o.security.check(record.value, record.headers, written.event as AnyOnexEvent, written.writerVersion);
              secured = true;
              stage = 'decode';
              const event = written.writerVersion === o.targetVersion ? checked : transformEvent(checked, o.targetVersion);
              decoded = { ...written, event };
            } else {
              decoded = await o.decoder.decode(record.value, o.targetVersion);
              this.noteWriterVersion(decoded.writerVersion);
            }
          }
          if (!secured && o.security !== undefined && record.value !== null) {
            stage = 'verify';
            const d: DecodedEvent<object> = decoded;
            const checked = await o.security.check(record.value, record.headers, d.event as AnyOnexEvent, d.writerVersion);
            decoded = { ...d, event: checked };
            secured = true;
          }
          const event = decoded.event as AnyOnexEvent;
          stage = 'validate';
          if (!validated) {
            this.validate(event, KNOWN.has(event.event_type));
            validated = true;
          }
          stage = 'handle';
          const route = countedUnknown ? o.router.route(event.event_type) : this.route(event);
          countedUnknown = true;
          if (!route.handler) return this.unhandled(event, attempts);
          const pending = this.invoke(route.handler, event, this.context(record, event, decoded, attempts, control));
          // A synchronous handler costs no extra turn of the event loop.
          if (isThenable(pending)) await pending;
          return this.handled(decoded, event, started, attempts);
        } catch (thrown) {
          failure = { stage, thrown };
        }
      }
      const { stage } = failure;
      const error = classifyFailure(stage, failure.thrown);
      failure = undefined;
      o.metrics.recordError(stage, error.code);
      if (shouldRetry(o.retry, error, attempts)) {
        const where = { code: error.code, stage, attempts, topic: record.topic, partition: record.partition, offset: record.offset };
        if (o.retry.outageCodes.includes(error.code)) o.log.warn(where, `waiting for a dependency: ${error.message}`);
        else o.log.debug(where, 'retrying a failed record');
        if (!(await control.wait(attemptDelay(o.retry, attempts + 1)))) return { status: 'interrupted', attempts };
        continue;
      }
      return this.fail(record, error, stage, attempts, decoded, control);
    }
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

  private context(record: SourceRecord, event: AnyOnexEvent, decoded: DecodedEvent<object>, attempt: number, control: ProcessControl): HandlerContext {
    return {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key,
      headers: record.headers ?? {},
      eventId: typeof event.event_id === 'string' ? event.event_id : undefined,
      writerVersion: decoded.writerVersion,
      targetVersion: this.o.targetVersion,
      schemaId: decoded.schemaId,
      attempt,
      heartbeat: control.heartbeat,
    };
  }

  /** Calls the handler; inside the record's consumer span when the worker traces (see src/telemetry/record-span.ts). */
  private invoke(handler: EventHandler, event: AnyOnexEvent, ctx: HandlerContext): unknown {
    const t = activeRecordTrace();
    const profiler = activeProfiler();
    if (!t) return profiler ? profiler.profile(`handle ${event.event_type}`, () => handler(event, ctx)) : handler(event, ctx);
    const versions = { writer: ctx.writerVersion, target: ctx.targetVersion, validated: this.o.validation !== 'off', attempt: ctx.attempt };
    // Profiled inside the record's span, so the slowest call's trace is the profile's exemplar.
    if (profiler) return t.handle((e, c) => profiler.profile(`handle ${event.event_type}`, () => handler(e, c)), event, ctx, versions);
    return t.handle(handler, event, ctx, versions);
  }

    private handled(decoded: DecodedEvent<object>, event: AnyOnexEvent, started: number, attempts: number): RecordOutcome {
    this.o.metrics.recordLatency(decoded.writerVersion, (performance.now() - started) / 1000);
    this.o.metrics.recordProcessed(event.event_type, 'handled');
    return { status: 'handled', attempts, eventType: event.event_type };
  }

  private unhandled(event: AnyOnexEvent, attempts: number): RecordOutcome {
    this.o.metrics.recordProcessed(event.event_type, 'unhandled');
    return { status: 'unhandled', attempts, eventType: event.event_type };
  }

  private validate(event: AnyOnexEvent, knownType: boolean): void {
    const mode = this.o.validation;
    if (mode === 'off') return;
    // The decoder typed the event by the target version's schema: only what a schema cannot say is left to check,
    // with validateEvent's codes (validateDecodedEvent).
    const result = validateDecodedEvent(event, this.o.targetVersion, NON_STRICT);
    if (result.valid) return;
    // UNKNOWN is what an older reader sees for a type a newer writer added: the producer named a real type, so the
    // reader-side rule is "pass it to the catch-all", not "reject it" (docs/protocol.md section 2).
    const errors = knownType ? result.errors : result.errors.filter((e) => e.details?.path !== 'event_type');
    if (errors.length === 0) return;
    if (mode === 'strict') {
      const first = errors[0]!;
      throw onexError(first.code, first.message, { details: { ...first.details, violations: errors.length } });
    }
    for (const e of errors) this.o.metrics.recordError('validate', e.code);
    this.o.log.warn({ event_id: (event as { event_id?: unknown }).event_id, violations: errors.map((e) => `${e.code}: ${e.message}`) }, 'event failed validation (non-strict: handled anyway)');
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
