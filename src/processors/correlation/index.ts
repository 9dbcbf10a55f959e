/**
 * Public face of the correlation index (onex-events/correlation): a processor that keeps, per correlation id, where
 * its events are (partition, first and last offset), when (first and last event time), how many, which nodes and
 * event types, its parent and trace ids, failures and replays, in changelog-backed state, and writes it to the
 * compacted topic onex.correlations with trace and child links; and CorrelationLookup, which finds a flow, a trace
 * or a tree by reading one index partition per id instead of the events. docs/trace.md describes the records.
 *
 *   const index = createCorrelationIndex({ kafka, groupId: 'onex-correlations', topic: 'onex.events', decoder: codec });
 *   await index.start();
 *   const lookup = new CorrelationLookup(kafka);
 *   await runReplay({ ..., rangesFor: (id) => lookup.rangesFor(id, 'onex.events') });
 */
export { CORRELATIONS_GROUP, CORRELATIONS_TOPIC, FLOWS_STORE, correlationIndexDefinition, indexPartitionOf, indexRecord } from './definition.js';
export type { CorrelationDefinitionOptions } from './definition.js';
export { MAX_DISTINCT, errorCodeOf, flowKey, foldEvent, traceIdOf } from './segment.js';
export type { FlowSegment, IndexKey, SeenAt } from './segment.js';
export { CorrelationLookup, segmentRange } from './lookup.js';
export { buildTraceTree, nodeSpans, renderTraceTree, traceEventOf } from './tree.js';
export type { NodeSpan, RenderOptions, SpanStatus, TraceEvent, TraceNode, TraceTree } from './tree.js';
export { loadTrace } from './trace.js';
export type { LoadTraceOptions, LoadedTrace } from './trace.js';
export type { Flow, LookupStats } from './lookup.js';
export { createCorrelationIndex } from './run.js';
export type { CorrelationIndexOptions } from './run.js';
