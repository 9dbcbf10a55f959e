import { context, isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * The W3C `traceparent` header of a record: the caller's active OpenTelemetry span when there is one (so a consumer's
 * span continues the producer's trace), else the trace the event itself names (2.0.0 `trace`, 1.1.0+ `trace_id`) when
 * that is a valid W3C trace id. Without either the header is left out: W3C forbids inventing an invalid one, and a
 * fresh random trace per event would only add noise.
 */

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The caller's active OpenTelemetry span as a traceparent; read on the caller's thread, at emit() time. */
export function activeTraceparent(): string | undefined {
  const active = trace.getSpanContext(context.active());
  if (!active || !isSpanContextValid(active)) return undefined;
  return `00-${active.traceId}-${active.spanId}-${(active.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The trace the event itself names, as a traceparent. */
export function traceparentOf(event: Record<string, unknown>): string | undefined {
  const t = event.trace as { trace_id?: unknown; span_id?: unknown; trace_flags?: unknown } | null | undefined;
  const traceId = (t && typeof t === 'object' ? t.trace_id : event.trace_id) as unknown;
  if (typeof traceId !== 'string' || !TRACE_ID.test(traceId) || traceId === ZERO_TRACE) return undefined;
  let spanId = t && typeof t === 'object' && typeof t.span_id === 'string' ? t.span_id : undefined;
  // The event is the span a consumer continues from: without a span id of its own, its event id (hex digits) names it.
  if (!spanId || !SPAN_ID.test(spanId) || spanId === ZERO_SPAN) spanId = spanIdFromEventId(String(event.event_id));
  const flags = t && typeof t === 'object' && typeof t.trace_flags === 'number' ? t.trace_flags & 0xff : 1;
  return `00-${traceId}-${spanId}-${flags.toString(16).padStart(2, '0')}`;
}

function spanIdFromEventId(eventId: string): string {
  // A UUID's first 16 hex digits sit at 0-7, 9-12 and 14-17 (no regex: this runs once per event).
  const hex = eventId.length === 36 ? `${eventId.slice(0, 8)}${eventId.slice(9, 13)}${eventId.slice(14, 18)}`.toLowerCase() : '';
  return SPAN_ID.test(hex) && hex !== ZERO_SPAN ? hex : '0000000000000001';
}

/** The flow a sampling decision is made for: trace id, else correlation id. */
export function flowKeyOf(event: Record<string, unknown>): string | undefined {
  const t = event.trace as { trace_id?: unknown } | null | undefined;
  const traceId = t && typeof t === 'object' ? t.trace_id : event.trace_id;
  if (typeof traceId === 'string' && traceId !== '') return traceId;
  const correlationId = event.correlation_id;
  return typeof correlationId === 'string' && correlationId !== '' ? correlationId : undefined;
}

/** True when the event reports an error: an error code (1.1.0+), an error record (2.0.0) or metadata.error_code. */
export function carriesError(event: Record<string, unknown>): boolean {
  if (typeof event.error_code === 'string' && event.error_code !== '') return true;
  const e = event.error as { code?: unknown } | null | undefined;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.code !== '') return true;
  const m = event.metadata as Record<string, unknown> | null | undefined;
  if (m && typeof m === 'object') {
    if (typeof m.error_code === 'string' && m.error_code !== '') return true;
    const extra = (m.extra ?? (m as { untyped?: unknown }).untyped) as Record<string, unknown> | null | undefined;
    if (extra && typeof extra === 'object' && typeof extra.error_code === 'string' && extra.error_code !== '') return true;
  }
  return false;
}
