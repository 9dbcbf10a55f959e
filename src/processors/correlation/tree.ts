import { eventTimeOf } from '../partition-runner.js';
import type { Flow } from './lookup.js';
import { errorCodeOf } from './segment.js';

/**
 * The trace tree of an operation: its flows (correlation ids) linked by parent_correlation_id, and in each flow the
 * work of each node from its START to its SUCCESS or FAILURE. Built from the index's flows and the events read from
 * their ranges; pure, so the terminal view, the JSON and the inspect page all draw the same thing.
 */

export type SpanStatus = 'success' | 'failure' | 'open';

export interface TraceEvent {
  event_id: string;
  event_type: string;
  node_id: string;
  time_ms: number;
  partition: number;
  offset: string;
  error_code: string | null;
  replay: boolean;
  /** The event's metadata (2.0.0 shape), for a reader who wants the whole event. */
  metadata: unknown;
}

/** One node's work within a flow. */
export interface NodeSpan {
  node_id: string;
  start_ms: number;
  /** The last SUCCESS/FAILURE (or the last event while none came). */
  end_ms: number;
  /** From the first START (or first event) to the last SUCCESS or FAILURE; null while the node has not finished. */
  duration_ms: number | null;
  status: SpanStatus;
  error_codes: string[];
  events: TraceEvent[];
}

export interface TraceNode {
  correlation_id: string;
  parent_correlation_id: string | null;
  trace_id: string | null;
  start_ms: number;
  end_ms: number;
  duration_ms: number;
  count: number;
  status: SpanStatus;
  replays: number;
  nodes: NodeSpan[];
  children: TraceNode[];
}

export interface TraceTree {
  /** The flows without a parent among the ones found (normally one). */
  roots: TraceNode[];
  start_ms: number;
  end_ms: number;
  flows: number;
  events: number;
}

const STARTS = new Set(['NODE_START', 'TELEMETRY_OPERATION_START']);
const SUCCESSES = new Set(['NODE_SUCCESS', 'TELEMETRY_OPERATION_SUCCESS']);
const FAILURES = new Set(['NODE_FAILURE', 'TELEMETRY_OPERATION_ERROR']);

/** An event as read (target version 2.0.0 or 1.x) in the tree's terms. */
export function traceEventOf(event: Record<string, unknown>, partition: number, offset: string, recordTimeMs: number): TraceEvent {
  return {
    event_id: String(event.event_id ?? ''),
    event_type: String(event.event_type ?? 'UNKNOWN'),
    node_id: String(event.node_id ?? ''),
    time_ms: eventTimeOf(event) ?? recordTimeMs,
    partition,
    offset,
    error_code: errorCodeOf(event),
    replay: event.replay !== null && event.replay !== undefined,
    metadata: event.metadata ?? null,
  };
}

export function nodeSpans(events: readonly TraceEvent[]): NodeSpan[] {
  const by = new Map<string, TraceEvent[]>();
  for (const e of [...events].sort((a, b) => a.time_ms - b.time_ms)) {
    let list = by.get(e.node_id);
    if (!list) by.set(e.node_id, (list = []));
    list.push(e);
  }
  const spans: NodeSpan[] = [];
  for (const [node_id, list] of by) {
    const start = list.find((e) => STARTS.has(e.event_type)) ?? list[0]!;
    const ends = list.filter((e) => SUCCESSES.has(e.event_type) || FAILURES.has(e.event_type));
    const end = ends[ends.length - 1];
    const status: SpanStatus = !end ? 'open' : FAILURES.has(end.event_type) ? 'failure' : 'success';
    spans.push({
      node_id,
      start_ms: start.time_ms,
      end_ms: end?.time_ms ?? list[list.length - 1]!.time_ms,
      duration_ms: end ? end.time_ms - start.time_ms : null,
      status,
      error_codes: [...new Set(list.map((e) => e.error_code).filter((c): c is string => c !== null))],
      events: list,
    });
  }
  return spans.sort((a, b) => a.start_ms - b.start_ms);
}

/** The tree of the flows given (from the index) over their events (grouped by correlation id). */
export function buildTraceTree(flows: readonly Flow[], eventsByFlow: ReadonlyMap<string, readonly TraceEvent[]>): TraceTree {
  const nodes = new Map<string, TraceNode>();
  for (const f of flows) {
    const events = eventsByFlow.get(f.correlation_id) ?? [];
    const spans = nodeSpans(events);
    const times = events.map((e) => e.time_ms);
    const start = times.length ? Math.min(...times) : f.first_time_ms;
    const end = times.length ? Math.max(...times) : f.last_time_ms;
    nodes.set(f.correlation_id, {
      correlation_id: f.correlation_id,
      parent_correlation_id: f.parent_correlation_id,
      trace_id: f.trace_id,
      start_ms: start,
      end_ms: end,
      duration_ms: end - start,
      count: events.length,
      status: spans.some((s) => s.status === 'failure') ? 'failure' : spans.some((s) => s.status === 'open') ? 'open' : 'success',
      replays: events.filter((e) => e.replay).length,
      nodes: spans,
      children: [],
    });
  }
  const roots: TraceNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.parent_correlation_id === null ? undefined : nodes.get(n.parent_correlation_id);
    if (parent && parent !== n) parent.children.push(n);
    else roots.push(n);
  }
  const byStart = (a: TraceNode, b: TraceNode) => a.start_ms - b.start_ms;
  for (const n of nodes.values()) n.children.sort(byStart);
  roots.sort(byStart);
  const all = [...nodes.values()];
  return {
    roots,
    start_ms: all.length ? Math.min(...all.map((n) => n.start_ms)) : 0,
    end_ms: all.length ? Math.max(...all.map((n) => n.end_ms)) : 0,
    flows: all.length,
    events: all.reduce((k, n) => k + n.count, 0),
  };
}

export interface RenderOptions {
  /** Colours a status (the terminal's; default none). */
  paint?: (status: SpanStatus, text: string) => string;
}

const ms = (n: number | null) => (n === null ? 'running' : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(2)} s`);
const short = (id: string) => (id.length > 13 ? `${id.slice(0, 8)}…` : id);

/** The tree as terminal lines: flows and their node spans, offsets from the start of the trace, durations. */
export function renderTraceTree(tree: TraceTree, o: RenderOptions = {}): string {
  const paint = o.paint ?? ((_s: SpanStatus, t: string) => t);
  const lines: string[] = [];
  const flow = (n: TraceNode, prefix: string, last: boolean, top: boolean) => {
    const head = top ? '' : `${prefix}${last ? '└─ ' : '├─ '}`;
    const inner = top ? '' : `${prefix}${last ? '   ' : '│  '}`;
    const replay = n.replays ? ` [replay ${n.replays}]` : '';
    lines.push(`${head}${paint(n.status, `flow ${n.correlation_id}`)}  +${ms(n.start_ms - tree.start_ms)}  ${ms(n.duration_ms)}  ${n.count} events${n.trace_id ? `  trace ${short(n.trace_id)}` : ''}${replay}`);
    const items: Array<{ span?: (typeof n.nodes)[number]; child?: TraceNode; at: number }> = [
      ...n.nodes.map((span) => ({ span, at: span.start_ms })),
      ...n.children.map((child) => ({ child, at: child.start_ms })),
    ].sort((a, b) => a.at - b.at);
    items.forEach((it, i) => {
      const end = i === items.length - 1;
      if (it.child) return flow(it.child, inner, end, false);
      const s = it.span!;
      const types = s.events.map((e) => e.event_type.replace(/^NODE_|^TELEMETRY_OPERATION_/, '')).join(' → ');
      const codes = s.error_codes.length ? `  ${s.error_codes.join(',')}` : '';
      const replay = s.events.some((e) => e.replay) ? ' [replay]' : '';
      lines.push(`${inner}${end ? '└─ ' : '├─ '}${paint(s.status, `${s.node_id} ${s.status}`)}  +${ms(s.start_ms - tree.start_ms)}  ${ms(s.duration_ms)}  ${types}${codes}${replay}`);
    });
  };
  tree.roots.forEach((r, i) => flow(r, '', i === tree.roots.length - 1, true));
  lines.push(`${tree.flows} flows, ${tree.events} events, ${ms(tree.end_ms - tree.start_ms)}`);
  return lines.join('\n');
}
