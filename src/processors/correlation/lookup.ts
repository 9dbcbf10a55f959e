import type { Kafka } from 'kafkajs';
import { onexError } from '../../event/index.js';
import { murmur2, partitionOf } from '../../producer/index.js';
import { coveringRanges, scanRanges, wholeTopic } from '../../replay/index.js';
import type { PartitionRange } from '../../replay/types.js';
import { CORRELATIONS_TOPIC, indexPartitionOf } from './definition.js';
import type { FlowSegment, IndexKey } from './segment.js';

/**
 * Lookups in the index topic. Every record of a lookup id is in the one index partition murmur2 of the id names, so
 * a lookup reads that partition (or, for a tree, the partitions of its ids level by level) and never the events.
 * A lookup reads the index as it is at the moment; partitions already read are not read again by the same
 * CorrelationLookup (make a new one to see newer records).
 */

/** One flow: its segments (one per partition its events are in) merged, and its links. */
export interface Flow {
  correlation_id: string;
  segments: FlowSegment[];
  count: number;
  first_time_ms: number;
  last_time_ms: number;
  node_ids: string[];
  event_types: string[];
  parent_correlation_id: string | null;
  trace_id: string | null;
  children: string[];
  failures: number;
  error_codes: string[];
  replays: number;
}

export interface LookupStats {
  /** Index records read. */
  recordsRead: number;
  partitionsRead: number;
  /** Records that are not index records (left out). */
  unreadable: number;
}

/** The offsets of a segment as a range to read. */
export const segmentRange = (s: FlowSegment): PartitionRange => ({ partition: s.partition, from: BigInt(s.first_offset), to: BigInt(s.last_offset) + 1n });

export class CorrelationLookup {
  readonly stats: LookupStats = { recordsRead: 0, partitionsRead: 0, unreadable: 0 };
  private partitions: Map<number, PartitionRange> | undefined;
  private readonly loaded = new Set<number>();
  private readonly segments = new Map<string, Map<string, FlowSegment>>();
  private readonly traces = new Map<string, Set<string>>();
  private readonly children = new Map<string, Set<string>>();

  /**
   * `indexGroup`: the index processor's consumer group. With it, rangesFor and treeRanges also read what the index has
   * not processed yet (from the group's committed offset to the end) in the partition each flow's id hashes to now,
   * so a flow's newest events are not missed while the index lags. Without it, only what the index has seen is read.
   */
  constructor(
    private readonly kafka: Kafka,
    readonly topic: string = CORRELATIONS_TOPIC,
    private readonly o: { indexGroup?: string } = {},
  ) {}

  /** The flow of a correlation id, or undefined when the index has never seen it. */
  async flow(id: string): Promise<Flow | undefined> {
    await this.load([id]);
    return this.merged(id);
  }

  /** The flows of a trace id (in order of their first event). */
  async byTrace(traceId: string): Promise<Flow[]> {
    await this.load([traceId]);
    const ids = [...(this.traces.get(traceId) ?? [])];
    await this.load(ids);
    return ids.map((id) => this.merged(id)).filter((f): f is Flow => f !== undefined).sort((a, b) => a.first_time_ms - b.first_time_ms);
  }

  /** The flow and every flow whose parent chain leads to it, root first, breadth first. */
  async tree(root: string): Promise<Flow[]> {
    const out: Flow[] = [];
    const seen = new Set<string>();
    let level = [root];
    while (level.length > 0) {
      await this.load(level);
      const next: string[] = [];
      for (const id of level) {
        if (seen.has(id)) continue;
        seen.add(id);
        const f = this.merged(id);
        if (!f) continue;
        out.push(f);
        next.push(...f.children.filter((c) => !seen.has(c)));
      }
      level = next;
    }
    return out;
  }

  /** Where a flow's records are in `topic` (for runReplay's rangesFor): undefined when the index does not know it. */
  async rangesFor(id: string, topic: string): Promise<PartitionRange[] | undefined> {
    const f = await this.flow(id);
    if (!f || !f.segments.some((s) => s.topic === topic)) return undefined;
    return this.rangesOf([f], topic);
  }

  /** One range per partition covering the flows' segments in `topic` and, with indexGroup, the unindexed tails. */
  async rangesOf(flows: readonly Flow[], topic: string): Promise<PartitionRange[]> {
    const segs = flows.flatMap((f) => f.segments.filter((s) => s.topic === topic));
    return coveringRanges([...segs.map(segmentRange), ...(await this.unindexedTails(flows.map((f) => f.correlation_id), topic))]);
  }

  /** A flow, its descendants and where their records are in `topic` (for runReplay's treeFor). */
  async treeRanges(root: string, topic: string): Promise<{ ids: string[]; ranges: PartitionRange[] } | undefined> {
    const flows = await this.tree(root);
    if (flows.length === 0) return undefined;
    return { ids: flows.map((f) => f.correlation_id), ranges: await this.rangesOf(flows, topic) };
  }

  /** What the index group has not committed yet, in the partitions the ids hash to now (none without indexGroup). */
  async unindexedTails(ids: readonly string[], topic: string): Promise<PartitionRange[]> {
    if (this.o.indexGroup === undefined) return [];
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const highs = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId: this.o.indexGroup, topics: [topic] });
      const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      const wanted = new Set(ids.map((id) => partitionOf(murmur2(Buffer.from(id)), highs.length)));
      return highs
        .filter((h) => wanted.has(h.partition))
        .flatMap((h) => {
          const from = at.get(h.partition) ?? -1n;
          // -1: the group has committed nothing there, so nothing says where the index stopped.
          return from >= 0n && from < BigInt(h.high) ? [{ partition: h.partition, from, to: BigInt(h.high) }] : [];
        });
    } finally {
      await admin.disconnect();
    }
  }

  private async load(ids: readonly string[]): Promise<void> {
    if (!this.partitions) {
      try {
        this.partitions = new Map((await wholeTopic(this.kafka, this.topic)).map((r) => [r.partition, r]));
      } catch (err) {
        throw onexError('ONEX_RT_430', `the correlation index ${this.topic} cannot be read: ${(err as Error).message}`, { cause: err });
      }
    }
    const count = this.partitions.size;
    const wanted = [...new Set(ids.map((id) => indexPartitionOf(id, count)))].filter((p) => !this.loaded.has(p));
    if (wanted.length === 0) return;
    for (const p of wanted) this.loaded.add(p);
    this.stats.partitionsRead += wanted.length;
    this.stats.recordsRead += await scanRanges(
      this.kafka,
      this.topic,
      wanted.map((p) => this.partitions!.get(p)!),
      (_partition, m) => {
        if (!m.key || !m.value) return;
        try {
          this.apply(JSON.parse(m.key.toString('utf8')) as IndexKey, m.value);
        } catch {
          // Not an index record (the topic is shared, or hand-written): it answers no lookup.
          this.stats.unreadable++;
        }
      },
    );
  }

  private apply(key: IndexKey, value: Buffer): void {
    const add = (map: Map<string, Set<string>>, k: string, v: string) => {
      let set = map.get(k);
      if (!set) map.set(k, (set = new Set()));
      set.add(v);
    };
    if (key[0] === 'flow') {
      let segs = this.segments.get(key[1]);
      if (!segs) this.segments.set(key[1], (segs = new Map()));
      segs.set(`${key[2]}\u0000${key[3]}`, JSON.parse(value.toString('utf8')) as FlowSegment);
    } else if (key[0] === 'trace') add(this.traces, key[1], key[2]);
    else if (key[0] === 'child') add(this.children, key[1], key[2]);
  }

  private merged(id: string): Flow | undefined {
    return flowOfSegments(id, [...(this.segments.get(id)?.values() ?? [])], [...(this.children.get(id) ?? [])]);
  }

}

/** One flow from its segments (one per topic partition it was seen in); undefined for none. */
export function flowOfSegments(id: string, segments: readonly FlowSegment[], children: readonly string[] = []): Flow | undefined {
  const segs = [...segments].sort((a, b) => a.first_time_ms - b.first_time_ms);
  if (segs.length === 0) return undefined;
  const distinct = (pick: (s: FlowSegment) => string[]) => [...new Set(segs.flatMap(pick))];
  return {
    correlation_id: id,
    segments: segs,
    count: segs.reduce((n, s) => n + s.count, 0),
    first_time_ms: Math.min(...segs.map((s) => s.first_time_ms)),
    last_time_ms: Math.max(...segs.map((s) => s.last_time_ms)),
    node_ids: distinct((s) => s.node_ids),
    event_types: distinct((s) => s.event_types),
    parent_correlation_id: segs.find((s) => s.parent_correlation_id)?.parent_correlation_id ?? null,
    trace_id: segs.find((s) => s.trace_id)?.trace_id ?? null,
    children: [...children],
    failures: segs.reduce((n, s) => n + s.failures, 0),
    error_codes: distinct((s) => s.error_codes),
    replays: segs.reduce((n, s) => n + s.replays, 0),
  };
}
