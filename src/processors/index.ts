/**
 * Public face of the processor runtime: stateful stream processors on Kafka. A processor is a worker (the same
 * decode -> upcast -> validate -> retry -> dead-letter path, src/worker) whose handler reads and writes keyed state
 * per input partition and emits records, exactly once: each batch's state changes (to a compacted changelog topic),
 * emitted records and input offsets commit in one Kafka transaction, and a partition's next owner restores its
 * state from the changelog before it processes a record. Event time: a watermark per partition with an allowed
 * lateness, timers that fire when it passes them, and a processing-time tick for idle partitions.
 * docs/processors.md describes the guarantees and the metrics.
 *
 *   const processor = createProcessor({
 *     kafka, groupId: 'failures', topic: 'onex.events', decoder: codec,
 *     definition: {
 *       name: 'failure-counter',
 *       stores: { counts: { maxKeys: 100_000, ttlMs: 3_600_000 } },
 *       process(event, ctx) {
 *         if (event.event_type !== 'NODE_FAILURE') return;
 *         const counts = ctx.store<number>('counts');
 *         const n = (counts.get(event.node_id) ?? 0) + 1;
 *         counts.put(event.node_id, n);
 *         ctx.setTimer(`reset:${event.node_id}`, ctx.eventTime + 60_000);
 *         if (n === 5) ctx.emit({ topic: 'failures.bursts', key: event.node_id, value: JSON.stringify({ n }) });
 *       },
 *       onTimer(id, _at, ctx) { ctx.store('counts').delete(id.slice('reset:'.length)); },
 *     },
 *   });
 *   await processor.start();
 *
 * runLocally() drives the same definition over an array of events without a broker (in event time, one partition),
 * which is how rules are unit-tested.
 */
export { createProcessor } from './processor.js';
export { PROCESSOR_DEFAULTS } from './options.js';
export { PartitionState } from './partition-state.js';
export type { Entry, EvictionReason, StateChange } from './partition-state.js';
export { PartitionRunner, eventTimeOf } from './partition-runner.js';
export { runLocally } from './local-runner.js';
export type { LocalRun, LocalRunOptions } from './local-runner.js';
export { ProcessorMetrics } from './metrics.js';
export type {
  EventTimeOptions,
  KeyedStore,
  LatePolicy,
  OutputRecord,
  Processor,
  ProcessorDefinition,
  ProcessorOptions,
  ProcessorStats,
  RecordContext,
  StoreOptions,
  TaskContext,
} from './types.js';
export {
  CORRELATIONS_TOPIC,
  CorrelationLookup,
  createCorrelationIndex,
  correlationIndexDefinition,
  errorCodeOf,
  flowKey,
  foldEvent,
  indexPartitionOf,
  loadTrace,
  renderTraceTree,
  buildTraceTree,
  traceIdOf,
} from './correlation/index.js';
export type { CorrelationIndexOptions, Flow, FlowSegment, IndexKey, LoadedTrace, LookupStats, NodeSpan, TraceEvent, TraceNode, TraceTree } from './correlation/index.js';
export * from './alerting/index.js';
