/**
 * What the project's other modules use of telemetry beyond its public face (index.ts): the logger, the active
 * tracer and profiler, the spans of a send and of a record, trace-context headers, the counting histogram and the
 * OTLP exporter. Not exported by the package; kept apart from index.ts so that a leaf such as kafka or flags can log
 * without loading the metrics server.
 */
export { activeTracer } from './tracer.js';
export { activeProfiler, type Profiler } from './profiler.js';
export { ATTR } from './span-attributes.js';
export { endSendSpan, noteSendPrepared, startSendSpan, traceOutputEvent } from './producer-span.js';
export { activeRecordTrace, traceRecord } from './record-span.js';
export { activeSpanContext, formatTraceparent, HEADER_TRACEPARENT, HEADER_TRACESTATE, parseTraceparent, traceparentOf } from './trace-context.js';
export { countingHistogram } from './histogram.js';
export { startOtlpTracing, TRACE_EXPORT_FAILURES } from './otlp.js';
