import { context, createTraceState, isSpanContextValid, ROOT_CONTEXT, trace, type Context, type SpanContext } from '@opentelemetry/api';

/**
 * W3C trace context (https://www.w3.org/TR/trace-context/) as the pipeline carries it: the `traceparent` and
 * `tracestate` record headers, and the event's own trace fields (2.0.0 `trace` record, 1.1.0+ `trace_id`). Parsed and
 * written here rather than through a registered propagator, because the library depends on `@opentelemetry/api` only
 * and must read the headers the same way whether or not an application registered one.
 */

export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_TRACESTATE = 'tracestate';

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * A remote span context from a traceparent (and tracestate) header; undefined for anything W3C says to ignore:
 * version ff, wrong lengths or case, an all-zero id, extra fields on version 00.
 */
export function parseTraceparent(traceparent: string, tracestate?: string): SpanContext | undefined {
  const sc = parseVersion00(traceparent) ?? parseOtherVersion(traceparent);
  if (sc && tracestate) sc.traceState = createTraceState(tracestate);
  return sc;
}

/**
 * Version 00, the one every current tracer writes, read by character codes: the worker parses one per record, and
 * this is about a fifth of the regular expression's cost. Anything it does not accept goes to parseOtherVersion.
 */
function parseVersion00(tp: string): SpanContext | undefined {
  if (tp.length !== 55 || tp.charCodeAt(0) !== 48 || tp.charCodeAt(1) !== 48) return undefined;
  if (tp.charCodeAt(2) !== 45 || tp.charCodeAt(35) !== 45 || tp.charCodeAt(52) !== 45) return undefined;
  if (!lowerHex(tp, 3, 35) || !lowerHex(tp, 36, 52) || !lowerHex(tp, 53, 55)) return undefined;
  const traceId = tp.slice(3, 35);
  const spanId = tp.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, traceFlags: parseInt(tp.slice(53, 55), 16), isRemote: true };
}

function lowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Everything else W3C allows: surrounding whitespace, and later versions with extra fields. */
function parseOtherVersion(traceparent: string): SpanContext | undefined {
  const text = traceparent.trim();
  const m = TRACEPARENT.exec(text);
  if (!m) return undefined;
  const [, version, traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  if (version === 'ff' || (version === '00' && text.length !== 55)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) & 0xff, isRemote: true };
}

/** The caller's active span context, when there is a valid one; read on the caller's thread, at emit() time. */
export function activeSpanContext(): SpanContext | undefined {
  const active = trace.getSpanContext(context.active());
  return active && isSpanContextValid(active) ? active : undefined;
}

/**
 * The trace the event itself names, as a remote span context: 2.0.0 `trace` (trace_id, span_id, trace_flags) or the
 * 1.1.0+ `trace_id`, when that is a W3C trace id. Without a span id of its own, the event's id (a UUID's first 16 hex
 * digits) names the span, so that a consumer continuing from the event has a parent to point at.
 */
export function spanContextOfEvent(event: Record<string, unknown>): SpanContext | undefined {
  const t = event.trace as { trace_id?: unknown; span_id?: unknown; trace_flags?: unknown } | null | undefined;
  const record = t !== null && typeof t === 'object' ? t : undefined;
  const traceId = record ? record.trace_id : event.trace_id;
  if (typeof traceId !== 'string' || !TRACE_ID.test(traceId) || traceId === ZERO_TRACE) return undefined;
  let spanId = record && typeof record.span_id === 'string' ? record.span_id : undefined;
  if (!spanId || !SPAN_ID.test(spanId) || spanId === ZERO_SPAN) spanId = spanIdFromEventId(String(event.event_id));
  const traceFlags = record && typeof record.trace_flags === 'number' ? record.trace_flags & 0xff : 1;
  return { traceId, spanId, traceFlags, isRemote: true };
}

/** The trace the event itself names, as a traceparent header. */
export function traceparentOf(event: Record<string, unknown>): string | undefined {
  const sc = spanContextOfEvent(event);
  return sc ? formatTraceparent(sc) : undefined;
}

function spanIdFromEventId(eventId: string): string {
  // A UUID's first 16 hex digits sit at 0-7, 9-12 and 14-17 (no regex: this runs once per event).
  const hex = eventId.length === 36 ? `${eventId.slice(0, 8)}${eventId.slice(9, 13)}${eventId.slice(14, 18)}`.toLowerCase() : '';
  return SPAN_ID.test(hex) && hex !== ZERO_SPAN ? hex : '0000000000000001';
}

/** A record header as text (kafkajs gives a Buffer, a string, or an array of either for a repeated header). */
export function headerText(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('latin1') : undefined;
}

/** The span context a record's headers carry, if any. */
export function spanContextOfHeaders(headers: Readonly<Record<string, unknown>> | undefined): SpanContext | undefined {
  if (!headers) return undefined;
  const parent = headerText(headers[HEADER_TRACEPARENT]);
  return parent ? parseTraceparent(parent, headerText(headers[HEADER_TRACESTATE])) : undefined;
}

/** A context whose span is the given remote one, for starting a child of it. */
export function contextWithRemote(sc: SpanContext, base: Context = ROOT_CONTEXT): Context {
  return trace.setSpanContext(base, sc);
}
