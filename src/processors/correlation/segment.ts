import type { AnyOnexEvent } from '../../event/index.js';

/**
 * What the index knows of one flow (a correlation id) in one partition of one topic: where its records are, when,
 * and what they were. A flow is normally one segment (the producer keys by correlation id); after the partition count
 * of the topic changed, new events of an old flow land elsewhere and the flow has one segment per partition.
 */
export interface FlowSegment {
  correlation_id: string;
  topic: string;
  partition: number;
  /** First and last offset of the flow's records in the partition (decimal strings, as Kafka gives offsets). */
  first_offset: string;
  last_offset: string;
  /** Earliest and latest event time (ms since the epoch). */
  first_time_ms: number;
  last_time_ms: number;
  count: number;
  node_ids: string[];
  event_types: string[];
  parent_correlation_id: string | null;
  trace_id: string | null;
  /** NODE_FAILURE / TELEMETRY_OPERATION_ERROR events, and the ONEX codes they carried. */
  failures: number;
  error_codes: string[];
  /** Events that are replays (carry the 1.3.0 replay marker). */
  replays: number;
}

/** A flow seen again, or for the first time; the distinct lists are bounded so one noisy flow cannot grow an entry. */
export const MAX_DISTINCT = 32;

const FAILURE_TYPES = new Set(['NODE_FAILURE', 'TELEMETRY_OPERATION_ERROR']);

function addDistinct(list: string[], value: unknown): void {
  if (typeof value === 'string' && value !== '' && list.length < MAX_DISTINCT && !list.includes(value)) list.push(value);
}

/** The trace id of an event in 2.0.0 (trace record) or 1.x (trace_id string). */
export function traceIdOf(event: Record<string, unknown>): string | null {
  const trace = event.trace as { trace_id?: unknown } | null | undefined;
  if (trace && typeof trace.trace_id === 'string') return trace.trace_id;
  return typeof event.trace_id === 'string' ? event.trace_id : null;
}

/** The ONEX code a failure event carries (2.0.0 error record, 1.x error_code), if any. */
export function errorCodeOf(event: Record<string, unknown>): string | null {
  const error = event.error as { code?: unknown } | null | undefined;
  if (error && typeof error.code === 'string') return error.code;
  return typeof event.error_code === 'string' ? event.error_code : null;
}

export interface SeenAt {
  topic: string;
  partition: number;
  offset: string;
  timeMs: number;
}

/** The segment after one more event of the flow (a new object; `prev` is not changed). */
export function foldEvent(prev: FlowSegment | undefined, event: AnyOnexEvent, at: SeenAt): FlowSegment {
  const e = event as unknown as Record<string, unknown>;
  const s: FlowSegment = prev
    ? { ...prev, node_ids: [...prev.node_ids], event_types: [...prev.event_types], error_codes: [...prev.error_codes] }
    : {
        correlation_id: e.correlation_id as string,
        topic: at.topic,
        partition: at.partition,
        first_offset: at.offset,
        last_offset: at.offset,
        first_time_ms: at.timeMs,
        last_time_ms: at.timeMs,
        count: 0,
        node_ids: [],
        event_types: [],
        parent_correlation_id: null,
        trace_id: null,
        failures: 0,
        error_codes: [],
        replays: 0,
      };
  const offset = BigInt(at.offset);
  if (offset < BigInt(s.first_offset)) s.first_offset = at.offset;
  if (offset > BigInt(s.last_offset)) s.last_offset = at.offset;
  s.first_time_ms = Math.min(s.first_time_ms, at.timeMs);
  s.last_time_ms = Math.max(s.last_time_ms, at.timeMs);
  s.count++;
  addDistinct(s.node_ids, e.node_id);
  addDistinct(s.event_types, e.event_type);
  if (s.parent_correlation_id === null && typeof e.parent_correlation_id === 'string' && e.parent_correlation_id !== s.correlation_id) {
    s.parent_correlation_id = e.parent_correlation_id;
  }
  s.trace_id ??= traceIdOf(e);
  if (FAILURE_TYPES.has(e.event_type as string)) s.failures++;
  addDistinct(s.error_codes, errorCodeOf(e));
  if (e.replay) s.replays++;
  return s;
}

/**
 * The index topic holds three kinds of record, each keyed by a JSON array and put in the partition murmur2 of its
 * second element names, so a lookup reads one partition of the index:
 * - ["flow", correlation_id, topic, partition] -> the FlowSegment (the last one wins under compaction);
 * - ["trace", trace_id, correlation_id] -> {} : the flow belongs to the trace;
 * - ["child", parent_correlation_id, correlation_id] -> {} : the flow is a child of the parent.
 * The owner of a flow's events writes all three, so a parent learns of a child in another partition without any
 * task reading another's state.
 */
export type IndexKey = ['flow', string, string, number] | ['trace', string, string] | ['child', string, string];

export function flowKey(s: Pick<FlowSegment, 'correlation_id' | 'topic' | 'partition'>): IndexKey {
  return ['flow', s.correlation_id, s.topic, s.partition];
}
