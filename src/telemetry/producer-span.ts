import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { logger } from './logger.js';
import { ATTR, MESSAGING_SYSTEM } from './span-attributes.js';
import { spanContextOfEvent } from './trace-context.js';

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
    if (!active || !isSpanContextValid(active)) {
      const own = spanContextOfEvent(input as Record<string, unknown>);
      if (own) parent = trace.setSpanContext(parent, own);
    }
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
    return tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER, attributes }, parent);
  } catch (err) {
    return failedQuietly(err);
  }
}

/** What emit() learned while preparing the event: its id, key, written version and size. */
export function noteSendPrepared(span: Span, p: { eventId: string; keyText: string; schemaVersion: string; bytes: number }): void {
  try {
    span.setAttributes({ [ATTR.messageId]: p.eventId, [ATTR.kafkaKey]: p.keyText, [ATTR.schemaVersion]: p.schemaVersion, [ATTR.bodySize]: p.bytes });
  } catch (err) {
    failedQuietly(err);
  }
}

/** Ends the span: OK when Kafka acknowledged, an event when sampling dropped the event, ERROR with the ONEX code else. */
export function endSendSpan(span: Span, outcome: { error?: { code: string; message: string }; sampledOut?: boolean }): void {
  try {
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
