import type { Kafka } from 'kafkajs';
import type { EventDecoder } from '../../codec/index.js';
import { onexError } from '../../event/index.js';
import type { AnyOnexEvent } from '../../event/index.js';
import { readRanges } from '../../replay/index.js';
import type { ReadEvent } from '../../replay/types.js';
import { eventTimeOf } from '../partition-runner.js';
import { CorrelationLookup, flowOfSegments, type Flow } from './lookup.js';
import { foldEvent, type FlowSegment } from './segment.js';
import { buildTraceTree, traceEventOf, type TraceEvent, type TraceTree } from './tree.js';

/**
 * Loads the trace tree of a correlation id (the flow and its descendants) or of a trace id (its flows and their
 * descendants): the flows from the index, then their events from the offset ranges the index gives, in `topic` only,
 * read through decode + upcast to 2.0.0. A correlation id the index has never seen is looked for, given indexGroup,
 * in what the index has not processed yet of the partition it hashes to (the flow alone: its children would be in
 * other partitions' tails); not there either, ONEX_RT_431.
 */
export interface LoadTraceOptions {
  kafka: Kafka;
  decoder: EventDecoder;
  /** The events topic the ranges are read from. */
  topic: string;
  lookup?: CorrelationLookup;
  indexTopic?: string;
  /** The index processor's group: events it has not indexed yet are read too (see CorrelationLookup). */
  indexGroup?: string;
  correlationId?: string;
  traceId?: string;
}

export interface LoadedTrace {
  tree: TraceTree;
  /** Event records read from the events topic, and index records read. */
  records_read: number;
  index_records_read: number;
}

export async function loadTrace(o: LoadTraceOptions): Promise<LoadedTrace> {
  const lookup = o.lookup ?? new CorrelationLookup(o.kafka, o.indexTopic, { indexGroup: o.indexGroup });
  let flows: Flow[];
  if (o.traceId !== undefined) {
    const members = await lookup.byTrace(o.traceId);
    if (members.length === 0) throw onexError('ONEX_RT_431', `the correlation index ${lookup.topic} knows no flow of trace ${o.traceId}`);
    const seen = new Map<string, Flow>();
    for (const m of members) for (const f of await lookup.tree(m.correlation_id)) seen.set(f.correlation_id, f);
    flows = [...seen.values()];
  } else if (o.correlationId !== undefined) {
    flows = await lookup.tree(o.correlationId);
    if (flows.length === 0) {
      const unindexed = await unindexedFlow(o, lookup, o.correlationId);
      if (unindexed) return unindexed;
      throw onexError('ONEX_RT_431', `the correlation index ${lookup.topic} knows no flow ${o.correlationId}${o.indexGroup === undefined ? '' : ', nor is it in what the index has not processed yet'}`);
    }
  } else {
    throw onexError('ONEX_RT_407', 'invalid trace option: give correlationId or traceId');
  }
  const ids = new Set(flows.map((f) => f.correlation_id));
  const ranges = await lookup.rangesOf(flows, o.topic);
  const read = await readRanges(o.kafka, o.topic, ranges, o.decoder, '2.0.0', (e) => ids.has(e.event.correlation_id as string));
  return { tree: buildTraceTree(flows, byFlowOf(read.events)), records_read: read.recordsRead, index_records_read: lookup.stats.recordsRead };
}

function byFlowOf(events: readonly ReadEvent[]): Map<string, TraceEvent[]> {
  const byFlow = new Map<string, TraceEvent[]>();
  for (const e of events) {
    const id = e.event.correlation_id as string;
    let list = byFlow.get(id);
    if (!list) byFlow.set(id, (list = []));
    list.push(traceEventOf(e.event, e.partition, e.offset, e.recordTimeMs));
  }
  return byFlow;
}

/** The flow's events in the index's unindexed tails, folded into segments as the index would: undefined for none. */
async function unindexedFlow(o: LoadTraceOptions, lookup: CorrelationLookup, id: string): Promise<LoadedTrace | undefined> {
  const ranges = await lookup.unindexedTails([id], o.topic);
  if (ranges.length === 0) return undefined;
  const read = await readRanges(o.kafka, o.topic, ranges, o.decoder, '2.0.0', (e) => e.event.correlation_id === id);
  const segments = new Map<number, FlowSegment>();
  for (const e of read.events) {
    const at = { topic: o.topic, partition: e.partition, offset: e.offset, timeMs: eventTimeOf(e.event) ?? e.recordTimeMs };
    segments.set(e.partition, foldEvent(segments.get(e.partition), e.event as unknown as AnyOnexEvent, at));
  }
  const flow = flowOfSegments(id, [...segments.values()]);
  if (!flow) return undefined;
  return { tree: buildTraceTree([flow], byFlowOf(read.events)), records_read: read.recordsRead, index_records_read: lookup.stats.recordsRead };
}
