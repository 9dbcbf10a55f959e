import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { logger } from '../logging/index.js';
import { ATTR, MESSAGING_SYSTEM } from './span-attributes.js';
import { formatTraceparent, HEADER_TRACEPARENT, HEADER_TRACESTATE, spanContextOfEvent } from './trace-context.js';

/**
 * The PRODUCER span of one emit: `send <topic>`, from emit() until Kafka acknowledged the event (or it failed, or
 * sampling dropped it). One span per event rather than one per batch with links: the events of a batch belong to
 * different operations (different traces), a consumer span must have its own event's send as parent, and a batch
 * span would put hundreds of links on one span for what is one causal step per event.
 *
 * Its parent is the caller's active span; without one, the trace the event names in its own fields, so that an
 * event whose emitter set trace.trace_id joins that trace. Tracing never throws into the application: a failure here
 * is logged once and the event goes on untraced.
 */

const log = logger('tracing');
let warned = false;

function failedQuietly(err: unknown): undefined {
  if (!warned) {
    warned = true;
    log.warn({ err: (err as Error)?.message }, 'tracing failed; the pipeline goes on without spans for the affected events (logged once)');
  }
  return undefined;
}

export function startSendSpan(tracer: Tracer, topic: string, input: object): Span | undefined {
  try {
    let parent = context.active();
    const active = trace.getSpanContext(parent);
    // A replayed event (replay marker set) keeps the original's trace fields, but its send is a new operation, maybe
    // days later: it starts in the caller's context (the replay session's span) and links to the original's span
    // instead of becoming its child.
    const replayed = (input as { replay?: unknown }).replay;
    const original = replayed !== undefined && replayed !== null ? spanContextOfEvent(input as Record<string, unknown>) : undefined;
    if (original) {
      const span = tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER, links: [{ context: original, attributes: { [ATTR.linkType]: 'replay_of' } }] }, parent);
      if (span.isRecording()) span.setAttributes(sendAttributes(topic, input));
      return span;
    }
    if (!active || !isSpanContextValid(active)) {
      const own = spanContextOfEvent(input as Record<string, unknown>);
      if (own) parent = trace.setSpanContext(parent, own);
    }
    // No attributes at start: the SDK copies and checks every attribute given to startSpan before its sampler
    // answers, which was most of what a drop-all sampler cost per event. The sampler sees the span's name (it names
    // the topic), kind and parent; the attributes are set only on a span that records.
    const span = tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER }, parent);
    if (span.isRecording()) span.setAttributes(sendAttributes(topic, input));
    return span;
  } catch (err) {
    return failedQuietly(err);
  }
}

function sendAttributes(topic: string, input: object): Attributes {
  const e = input as { event_type?: unknown; correlation_id?: unknown };
  const attributes: Attributes = {
    [ATTR.system]: MESSAGING_SYSTEM,
    [ATTR.operationName]: 'send',
    [ATTR.operationType]: 'send',
    [ATTR.destination]: topic,
  };
  if (typeof e.event_type === 'string') attributes[ATTR.eventType] = e.event_type;
  if (typeof e.correlation_id === 'string') attributes[ATTR.correlationId] = e.correlation_id;
  const code = errorCodeOf(input);
  if (code) attributes[ATTR.errorCode] = code;
  return attributes;
}

/** What emit() learned while preparing the event: its id, key, written version and size. */
export function noteSendPrepared(span: Span, p: { eventId: string; keyText: string; schemaVersion: string; bytes: number }): void {
  if (!span.isRecording()) return;
  try {
    span.setAttributes({ [ATTR.messageId]: p.eventId, [ATTR.kafkaKey]: p.keyText, [ATTR.schemaVersion]: p.schemaVersion, [ATTR.bodySize]: p.bytes });
  } catch (err) {
    failedQuietly(err);
  }
}

/** Ends the span: OK when Kafka acknowledged, an event when sampling dropped the event, ERROR with the ONEX code else. */
export function endSendSpan(span: Span, outcome: { error?: { code: string; message: string }; sampledOut?: boolean }): void {
  try {
    if (!span.isRecording()) return;
    if (outcome.error) {
      span.setAttribute(ATTR.errorCode, outcome.error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome.error.code}: ${outcome.error.message}` });
    } else if (outcome.sampledOut) {
      span.addEvent('sampled_out');
    }
    span.end();
  } catch (err) {
    failedQuietly(err);
  }
}

/** The ONEX error code an event reports: 1.1.0+ error_code, 2.0.0 error.code. */
export function errorCodeOf(event: object): string | undefined {
  const e = event as { error_code?: unknown; error?: { code?: unknown } | null };
  if (typeof e.error_code === 'string' && e.error_code !== '') return e.error_code;
  const code = e.error && typeof e.error === 'object' ? e.error.code : undefined;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

export { failedQuietly as tracingFailed };

/**
 * A processor's output event (an ALERT raised by the alert processor): a PRODUCER span `send <topic>`, a child of
 * the record being processed when there is one in the context, else of `cause` (the record that last fed the state a
 * timer acts on), so the output joins the trace of what caused it. The processor sends its output in the batch's
 * transaction, after the handler; the span marks the output's making and ends at once. A 2.0.0 event without a
 * `trace` record gets the span's; the headers to put on the record are returned (none without a trace to continue).
 */
export function traceOutputEvent(tracer: Tracer, topic: string, event: Record<string, unknown>, cause: SpanContext | undefined, extra: Attributes = {}): Record<string, string> | undefined {
  try {
    let parent = context.active();
    const active = trace.getSpanContext(parent);
    if (!active || !isSpanContextValid(active)) {
      if (!cause) return undefined;
      parent = trace.setSpanContext(parent, cause);
    }
    const span = tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER }, parent);
    const sc = span.spanContext();
    if (span.isRecording()) span.setAttributes({ ...sendAttributes(topic, event), ...extra });
    if (event.trace === undefined || event.trace === null) event.trace = { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: sc.traceFlags & 0xff };
    span.end();
    const tracestate = sc.traceState?.serialize();
    return { [HEADER_TRACEPARENT]: formatTraceparent(sc), ...(tracestate ? { [HEADER_TRACESTATE]: tracestate } : {}) };
  } catch (err) {
    return failedQuietly(err);
  }
}
