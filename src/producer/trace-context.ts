/**
 * What the producer's sampler reads of an event: the flow it belongs to and whether it reports an error. (The W3C
 * trace context itself lives in src/telemetry/trace-context.ts.)
 */

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
