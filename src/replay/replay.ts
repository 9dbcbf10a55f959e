import { randomUUID } from 'node:crypto';
import { parse as parseCel } from '@marcbachmann/cel-js';
import { asOnexError, onexError } from '../errors/index.js';
import { flags } from '../flags/index.js';
import { timestampMicros } from '../event/index.js';
import { murmur2, OnexProducer, partitionOf } from '../producer/index.js';
import { findEnvelopes, type SecurityPolicy, securityPolicy } from '../security/index.js';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { activeTracer, ATTR } from '../telemetry/internal.js';
import { checkReplayVersion, markReplay } from './marker.js';
import { inTimeRange, readRanges, timeRanges, wholeTopic } from './reader.js';
import { ReplayScheduler, replayDurationMs } from './schedule.js';
import type { PartitionRange, ReadEvent, ReplayOptions, ReplaySummary } from './types.js';
import { checkReplayTarget } from './target.js';

/**
 * One replay: select (a flow by correlation id, with its children, or a time range), read through decode + upcast,
 * filter (--where), order, then emit on the absolute schedule into the replay topic, or only summarise (dry run).
 */

export type { ReplayOptions, ReplayProgress, ReplaySelection, ReplaySummary } from './types.js';

const eventTimeMs = (e: ReadEvent): number => {
  const micros = typeof e.event.timestamp === 'string' ? timestampMicros(e.event.timestamp) : undefined;
  return micros === undefined ? e.recordTimeMs : micros / 1000;
};

/**
 * Whether an event read with encrypted fields can be replayed: its fields were decrypted (a copy's ciphertext must be
 * bound to the copy's own event id, so the original's cannot be kept) and the emit policy encrypts each of them
 * again, so no field encrypted at the source is written in plaintext. Undefined when it can, else the code.
 */
export function sealedSkip(e: ReadEvent, emit: SecurityPolicy | undefined): 'ONEX_EVENT_637' | 'ONEX_EVENT_638' | undefined {
  if (e.encrypted === undefined || e.encrypted.length === 0) return undefined;
  if (findEnvelopes(e.event as { event_id: string; event_type: string }).length > 0) return 'ONEX_EVENT_637';
  const again = emit?.plan(e.event)?.encrypt;
  return e.encrypted.every((path) => again?.includes(path)) ? undefined : 'ONEX_EVENT_638';
}

/** Original order: offset order within a partition, partitions merged by event time (ties: lower partition). */
export function originalOrder(events: readonly ReadEvent[]): ReadEvent[] {
  const lanes = new Map<number, ReadEvent[]>();
  for (const e of events) {
    let lane = lanes.get(e.partition);
    if (!lane) lanes.set(e.partition, (lane = []));
    lane.push(e);
  }
  for (const lane of lanes.values()) lane.sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
  if (lanes.size <= 1) return [...(lanes.values().next().value ?? [])];
  const heads = [...lanes.entries()].sort((a, b) => a[0] - b[0]).map(([, lane]) => ({ lane, i: 0 }));
  const out: ReadEvent[] = [];
  for (;;) {
    let best: { lane: ReadEvent[]; i: number } | undefined;
    for (const h of heads) if (h.i < h.lane.length && (!best || eventTimeMs(h.lane[h.i]!) < eventTimeMs(best.lane[best.i]!))) best = h;
    if (!best) return out;
    out.push(best.lane[best.i++]!);
  }
}

export function compileWhere(source: string): (event: Record<string, unknown>) => boolean {
  let expr: (ctx: Record<string, unknown>) => unknown;
  try {
    expr = parseCel(source) as (ctx: Record<string, unknown>) => unknown;
  } catch (e) {
    throw onexError('ONEX_VALID_111', `--where ${JSON.stringify(source)} does not parse: ${(e as Error).message.split('\n')[0]}`);
  }
  return (event) => {
    try {
      return expr({ event }) === true;
    } catch {
      return false;
    }
  };
}

/** The ids of a flow and, transitively, of every flow whose parent_correlation_id leads to it. */
export function withDescendants(root: string, events: readonly ReadEvent[]): Set<string> {
  const children = new Map<string, Set<string>>();
  for (const { event } of events) {
    const parent = event.parent_correlation_id;
    const id = event.correlation_id;
    if (typeof parent === 'string' && typeof id === 'string' && parent !== id) {
      let set = children.get(parent);
      if (!set) children.set(parent, (set = new Set()));
      set.add(id);
    }
  }
  const ids = new Set([root]);
  const queue = [root];
  while (queue.length > 0) for (const c of children.get(queue.pop()!) ?? []) if (!ids.has(c)) ids.add(c), queue.push(c);
  return ids;
}

/** One range per partition covering all the given ones (the reader takes one range per partition). */
export function coveringRanges(ranges: readonly PartitionRange[]): PartitionRange[] {
  const by = new Map<number, PartitionRange>();
  for (const r of ranges) {
    const had = by.get(r.partition);
    by.set(r.partition, had ? { partition: r.partition, from: r.from < had.from ? r.from : had.from, to: r.to > had.to ? r.to : had.to } : { ...r });
  }
  return [...by.values()].sort((a, b) => a.partition - b.partition);
}

async function flowRanges(o: ReplayOptions, correlationId: string): Promise<PartitionRange[]> {
  const indexed = await o.rangesFor?.(correlationId);
  if (indexed) return indexed;
  // No index: the producer keys by correlation_id, so the flow is in the partition its murmur2 hash names today.
  const whole = await wholeTopic(o.kafka, o.sourceTopic);
  const partition = partitionOf(murmur2(Buffer.from(correlationId)), whole.length);
  return whole.filter((r) => r.partition === partition);
}

export async function runReplay(o: ReplayOptions): Promise<ReplaySummary> {
  const speed = o.speed ?? 1;
  const earlyMs = o.pacer?.earlyMs;
  if (earlyMs !== undefined && !(typeof earlyMs === 'number' && Number.isFinite(earlyMs) && earlyMs >= 0 && earlyMs <= 5)) {
    throw onexError('ONEX_RT_407', `invalid replay option pacer.earlyMs: ${String(earlyMs)} is not a number of ms from 0 to 5`);
  }
  const pacer = flags.isEnabled('onex.replay.pacer') ? o.pacer : { earlyMs: 0 };
  const targetVersion = o.targetVersion ?? '2.0.0';
  const replayId = o.replayId ?? randomUUID();
  checkReplayVersion(targetVersion);
  checkReplayTarget([o.sourceTopic], o.toTopic, o.allowSourceTopic);
  const where = o.where === undefined ? undefined : compileWhere(o.where);
  const emitSecurity = o.emitSecurity === undefined ? undefined : securityPolicy(o.emitSecurity, 'emitSecurity');
  const sel = o.selection;

  let ranges: PartitionRange[];
  let keep: (e: ReadEvent) => boolean;
  let ids: Set<string> | undefined;
  if ('correlationId' in sel) {
    const tree = sel.withChildren ? await o.treeFor?.(sel.correlationId) : undefined;
    if (tree) {
      ranges = coveringRanges(tree.ranges);
      ids = new Set(tree.ids);
      const known = ids;
      keep = (e) => known.has(e.event.correlation_id as string);
    } else if (sel.withChildren) {
      // Children are keyed by their own correlation ids, so without an index they can be in any partition.
      ranges = await wholeTopic(o.kafka, o.sourceTopic);
      keep = (e) => typeof e.event.correlation_id === 'string';
    } else {
      ranges = await flowRanges(o, sel.correlationId);
      keep = (e) => e.event.correlation_id === sel.correlationId;
    }
  } else {
    if (!(sel.toMs > sel.fromMs)) throw onexError('ONEX_RT_407', 'invalid replay option to: the end of the time range must be after its start');
    ranges = await timeRanges(o.kafka, o.sourceTopic, sel.fromMs, sel.toMs);
    keep = (e) => inTimeRange(e, sel.fromMs, sel.toMs);
  }
  const read = await readRanges(o.kafka, o.sourceTopic, ranges, o.codec, targetVersion, keep, o.signal, o.security);
  let events = read.events;
  if ('correlationId' in sel && sel.withChildren && !ids) {
    ids = withDescendants(sel.correlationId, events);
    events = events.filter((e) => ids!.has(e.event.correlation_id as string));
  }
  const skipped = read.skipped;
  events = events.filter((e) => {
    const code = sealedSkip(e, emitSecurity);
    if (code !== undefined) skipped[code] = (skipped[code] ?? 0) + 1;
    return code === undefined;
  });
  if (where) events = events.filter((e) => where(e.event));
  events = originalOrder(events);

  const times = events.map(eventTimeMs);
  const versions: Record<string, number> = {};
  for (const e of events) versions[e.writerVersion] = (versions[e.writerVersion] ?? 0) + 1;
  const summary: ReplaySummary = {
    replay_id: replayId,
    dry_run: o.dryRun ?? false,
    source_topic: o.sourceTopic,
    to_topic: o.toTopic,
    speed,
    target_version: targetVersion,
    count: events.length,
    emitted: 0,
    records_read: read.recordsRead,
    skipped,
    versions,
    first_timestamp: (events[0]?.event.timestamp as string | undefined) ?? null,
    last_timestamp: (events[events.length - 1]?.event.timestamp as string | undefined) ?? null,
    span_ms: times.length === 0 ? 0 : times[times.length - 1]! - times[0]!,
    duration_ms: replayDurationMs(times, speed),
    elapsed_ms: 0,
    interrupted: false,
    failed: 0,
  };
  if (summary.dry_run || events.length === 0) return summary;

  const producer = new OnexProducer({
    kafka: o.kafka,
    codec: o.codec,
    topic: o.toTopic,
    schemaVersion: targetVersion,
    sampling: { enabled: false },
    batch: { lingerMs: 0 },
    ...(emitSecurity ? { security: emitSecurity } : {}),
  });
  await producer.start();
  const scheduler = new ReplayScheduler(speed, o.clock, pacer);
  const pending: Promise<unknown>[] = [];
  // Traced, the replay is one operation of its own: a `replay <source>` span whose children are the copies' sends,
  // each linked to its original's span (src/telemetry/producer-span.ts), the copies keeping the original trace fields.
  const tracer = activeTracer();
  const session = tracer?.startSpan(`replay ${o.sourceTopic}`);
  if (session?.isRecording()) session.setAttributes({ [ATTR.replayId]: replayId, [ATTR.destination]: o.toTopic, 'onex.replay.count': events.length });
  const inSession = session ? trace.setSpan(context.active(), session) : undefined;
  try {
    for (let i = 0; i < events.length; i++) {
      if (o.signal?.aborted) {
        summary.interrupted = true;
        break;
      }
      await scheduler.wait(times[i]!);
      if (o.signal?.aborted) {
        summary.interrupted = true;
        break;
      }
      const copy = markReplay(events[i]!.event, { replayId, speed });
      const sent = inSession ? context.with(inSession, () => producer.emit(copy)) : producer.emit(copy);
      pending.push(sent.then(() => void summary.emitted++, (err: unknown) => {
        summary.failed++;
        return asOnexError(err, 'ONEX_EVENT_600');
      }));
      o.onProgress?.({ emitted: i + 1, total: events.length, elapsedMs: scheduler.elapsed(), etaMs: Math.max(0, summary.duration_ms - scheduler.elapsed()) });
    }
    await Promise.all(pending);
  } finally {
    await producer.close();
    if (session?.isRecording()) {
      session.setAttributes({ 'onex.replay.emitted': summary.emitted, 'onex.replay.failed': summary.failed });
      if (summary.failed > 0) session.setStatus({ code: SpanStatusCode.ERROR, message: `${summary.failed} events failed` });
    }
    session?.end();
  }
  summary.elapsed_ms = Math.round(scheduler.elapsed());
  return summary;
}
