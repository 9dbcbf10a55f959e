import type { AnyOnexEvent } from '../../event/index.js';
import { murmur2, partitionOf } from '../../producer/index.js';
import { eventTimeOf } from '../partition-runner.js';
import type { OutputRecord, ProcessorDefinition, StoreOptions, TaskContext } from '../types.js';
import { flowKey, foldEvent, type FlowSegment, type IndexKey } from './segment.js';

/**
 * The correlation index as a processor definition: the segment of every flow of a partition is kept in the keyed
 * store `flows` (so the changelog restores it after a restart or a rebalance), and at the end of each transaction the
 * segments the batch changed are emitted once each to the compacted index topic, in the same transaction, with the
 * trace and child links a segment gained (segment.ts describes the records).
 */
export const CORRELATIONS_TOPIC = 'onex.correlations';
export const FLOWS_STORE = 'flows';
/** The group `onex correlations run` uses unless told otherwise, and the one the commands that read the index assume. */
export const CORRELATIONS_GROUP = 'onex-correlations';

export interface CorrelationDefinitionOptions {
  /** The index topic (default onex.correlations). */
  indexTopic?: string;
  /** Partitions of the index topic: a record goes to the one murmur2 of its lookup id names. */
  indexPartitions: number;
  /** Bounds of the flows store per partition (default 500,000 flows, no TTL). */
  flows?: StoreOptions;
  /** Read per event; false leaves the event unindexed (the feature flag). */
  enabled?: () => boolean;
}

/** The index partition of a lookup id (a correlation id or a trace id). */
export function indexPartitionOf(id: string, partitions: number): number {
  return partitionOf(murmur2(Buffer.from(id)), partitions);
}

export function indexRecord(topic: string, partitions: number, key: IndexKey, value: unknown): OutputRecord {
  return { topic, key: JSON.stringify(key), value: JSON.stringify(value), partition: indexPartitionOf(key[1], partitions) };
}

export function correlationIndexDefinition(o: CorrelationDefinitionOptions): ProcessorDefinition {
  const indexTopic = o.indexTopic ?? CORRELATIONS_TOPIC;
  // One definition serves every partition task of the process; each partition has its own changed keys, and the
  // segment each had at the start of the batch (to see which links are new).
  const changed = new Map<number, Map<string, FlowSegment | undefined>>();
  return {
    name: 'correlations',
    stores: { [FLOWS_STORE]: o.flows ?? { maxKeys: 500_000 } },
    process(event: AnyOnexEvent, ctx) {
      const id = (event as { correlation_id?: unknown }).correlation_id;
      if (typeof id !== 'string' || id === '' || (o.enabled && !o.enabled())) return;
      const flows = ctx.store<FlowSegment>(FLOWS_STORE);
      const timeMs = eventTimeOf(event) ?? ctx.eventTime;
      const before = flows.get(id);
      flows.put(id, foldEvent(before, event, { topic: ctx.topic, partition: ctx.partition, offset: ctx.offset, timeMs }));
      let batch = changed.get(ctx.partition);
      if (!batch) changed.set(ctx.partition, (batch = new Map()));
      if (!batch.has(id)) batch.set(id, before);
    },
    endBatch(ctx: TaskContext) {
      const batch = changed.get(ctx.partition);
      if (!batch) return;
      changed.delete(ctx.partition);
      const flows = ctx.store<FlowSegment>(FLOWS_STORE);
      for (const [id, before] of batch) {
        // Undone by a failed record (rolled back) or evicted: the topic keeps what it had.
        const s = flows.get(id);
        if (!s) continue;
        ctx.emit(indexRecord(indexTopic, o.indexPartitions, flowKey(s), s));
        if (s.trace_id && s.trace_id !== before?.trace_id) ctx.emit(indexRecord(indexTopic, o.indexPartitions, ['trace', s.trace_id, id], {}));
        if (s.parent_correlation_id && s.parent_correlation_id !== before?.parent_correlation_id) {
          ctx.emit(indexRecord(indexTopic, o.indexPartitions, ['child', s.parent_correlation_id, id], {}));
        }
      }
    },
  };
}
