import { performance } from 'node:perf_hooks';
import { context, createContextKey, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { errorCodeOf, tracingFailed } from './producer-span.js';
import { ATTR, MESSAGING_SYSTEM } from './span-attributes.js';
import { contextWithRemote, spanContextOfEvent, spanContextOfHeaders } from './trace-context.js';

/**
 * The CONSUMER span of one record the worker handles: `process <topic>`, a child of the producer's send span. Its
 * parent comes from the record's traceparent / tracestate headers, else (a record that went through a tool that
 * drops headers) from the trace fields of the event itself, so the span starts when the event is decoded, with the
 * time the record was picked up as its start time.
 *
 * The stages are span events, not child spans (one span per record is what the worker can afford at tens of
 * thousands of records a second): `upcast` (writer and target versions), `validated`, `handler` per attempt (with
 * the handler's exception when it throws) and `dead_letter` (the ONEX code and the stage, status ERROR). The handler
 * runs inside the span's context, so spans and emits of the handler (an alert raised, an event emitted) are its
 * children and one operation reads as one trace.
 */

/** The record as the worker holds it (the worker's SourceRecord; restated so telemetry imports nothing of it). */
export interface TracedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly headers?: Readonly<Record<string, unknown>>;
}

/** What the record came to (the worker's RecordOutcome, the fields the span reads). */
export interface TracedOutcome {
  readonly status: string;
  readonly attempts: number;
  readonly eventType?: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly stage?: string;
}

const RECORD_TRACE = createContextKey('onex-events record trace');
/** Records being traced right now; while there are none the handler path does not even look at the context. */
let live = 0;

export class RecordTrace {
  private span: Span | undefined;
  private readonly startTime = performance.now();
  private readonly fromHeaders: SpanContext | undefined;

  constructor(
    private readonly tracer: Tracer,
    private readonly record: TracedRecord,
    private readonly groupId: string,
    private readonly base: Context,
  ) {
    this.fromHeaders = spanContextOfHeaders(record.headers);
  }

  /**
   * Runs one handler call inside the span (started now if it was not): the decoded event names the type, versions
   * and correlation, and its trace fields stand in for missing headers.
   */
  handle<T>(handler: (event: never, ctx: never) => T, event: object, ctx: object, versions: { writer: string; target: string; validated: boolean; attempt: number }): T {
    const span = this.begin(event, versions);
    let inSpan: Context = this.base;
    try {
      if (span.isRecording()) span.addEvent('handler', { attempt: versions.attempt });
      inSpan = trace.setSpan(this.base, span);
    } catch (err) {
      tracingFailed(err);
    }
    const result = context.with(inSpan, () => {
      try {
        return handler(event as never, ctx as never);
      } catch (thrown) {
        this.exception(thrown);
        throw thrown;
      }
    });
    if (result !== null && typeof result === 'object' && typeof (result as unknown as PromiseLike<unknown>).then === 'function') {
      return Promise.resolve(result).then(undefined, (thrown: unknown) => {
        this.exception(thrown);
        throw thrown;
      }) as T;
    }
    return result;
  }

  /** Ends the span with the record's outcome. */
  end(outcome: TracedOutcome): void {
    try {
      const span = this.begin(undefined, undefined);
      if (!span.isRecording()) return;
      span.setAttributes({ [ATTR.outcome]: outcome.status, [ATTR.attempts]: outcome.attempts });
      if (outcome.error) {
        span.setAttribute(ATTR.errorCode, outcome.error.code);
        if (outcome.status === 'dead_lettered' || outcome.status === 'dropped') {
          span.addEvent(outcome.status === 'dead_lettered' ? 'dead_letter' : 'dropped', { [ATTR.errorCode]: outcome.error.code, stage: outcome.stage ?? '' });
        }
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome.error.code}: ${outcome.error.message}` });
      }
      span.end();
    } catch (err) {
      tracingFailed(err);
    }
  }

  private begin(event: object | undefined, versions: { writer: string; target: string; validated: boolean } | undefined): Span {
    if (this.span) return this.span;
    const r = this.record;
    const own = this.fromHeaders ?? (event ? spanContextOfEvent(event as Record<string, unknown>) : undefined);
    const parent = own ? contextWithRemote(own, this.base) : this.base;
    // As for the send span: no attributes until the sampler said the span records (see producer-span.ts).
    const span = this.tracer.startSpan(`process ${r.topic}`, { kind: SpanKind.CONSUMER, startTime: this.startTime }, parent);
    this.span = span;
    if (!span.isRecording()) return span;
    span.setAttributes(processAttributes(r, this.groupId, event, versions));
    if (versions) {
      if (versions.writer !== versions.target) span.addEvent('upcast', { from: versions.writer, to: versions.target });
      if (versions.validated) span.addEvent('validated');
    }
    return span;
  }

  private exception(thrown: unknown): void {
    try {
      const e = thrown instanceof Error ? thrown : new Error(String(thrown));
      this.span?.recordException(e);
    } catch (err) {
      tracingFailed(err);
    }
  }
}

function processAttributes(r: TracedRecord, groupId: string, event: object | undefined, versions: { writer: string; target: string } | undefined): Attributes {
  const attributes: Attributes = {
    [ATTR.system]: MESSAGING_SYSTEM,
    [ATTR.operationName]: 'process',
    [ATTR.operationType]: 'process',
    [ATTR.destination]: r.topic,
    [ATTR.partition]: String(r.partition),
    [ATTR.kafkaOffset]: Number(r.offset),
    [ATTR.consumerGroup]: groupId,
  };
  if (r.key) attributes[ATTR.kafkaKey] = r.key.toString('utf8');
  if (event) {
    const e = event as { event_type?: unknown; event_id?: unknown; correlation_id?: unknown };
    if (typeof e.event_type === 'string') attributes[ATTR.eventType] = e.event_type;
    if (typeof e.event_id === 'string') attributes[ATTR.messageId] = e.event_id;
    if (typeof e.correlation_id === 'string') attributes[ATTR.correlationId] = e.correlation_id;
    const code = errorCodeOf(event);
    if (code) attributes[ATTR.errorCode] = code;
  }
  if (versions) {
    attributes[ATTR.schemaVersion] = versions.writer;
    attributes[ATTR.targetVersion] = versions.target;
  }
  return attributes;
}

/** Runs the worker's processing of one record with a RecordTrace in the context, and ends the span with the outcome. */
export function traceRecord<O extends TracedOutcome>(tracer: Tracer, record: TracedRecord, groupId: string, run: () => O | Promise<O>): O | Promise<O> {
  const base = context.active();
  const rt = new RecordTrace(tracer, record, groupId, base);
  live++;
  let result: O | Promise<O>;
  try {
    result = context.with(base.setValue(RECORD_TRACE, rt), run);
  } catch (thrown) {
    live--;
    rt.end({ status: 'failed', attempts: 0, error: { code: 'ONEX_SYS_904', message: String((thrown as Error)?.message ?? thrown) } });
    throw thrown;
  }
  if (result instanceof Promise) {
    return result.then(
      (outcome) => {
        live--;
        rt.end(outcome);
        return outcome;
      },
      (thrown: unknown) => {
        live--;
        rt.end({ status: 'failed', attempts: 0, error: { code: 'ONEX_SYS_904', message: String((thrown as Error)?.message ?? thrown) } });
        throw thrown;
      },
    );
  }
  live--;
  rt.end(result);
  return result;
}

/** The RecordTrace of the record being processed in this context, if it is traced. */
export function activeRecordTrace(): RecordTrace | undefined {
  return live === 0 ? undefined : (context.active().getValue(RECORD_TRACE) as RecordTrace | undefined);
}
