/**
 * The state of `onex profile`: the latest PERFORMANCE_PROFILE of every (node, operation), with the trend of its p99
 * against the profile before it, sorted by p99 (slowest first), as a top-like table or JSON.
 */

export interface ProfileRow {
  readonly node_id: string;
  readonly operation: string;
  readonly count: number;
  readonly p50_ms: number;
  readonly p95_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  readonly cpu_time_ms: number;
  readonly memory_peak_bytes: number;
  readonly event_loop_delay_max_ms: number;
  readonly window_ms: number;
  /** p99 now minus p99 of the previous window of the same node and operation; null for the first window. */
  readonly p99_trend_ms: number | null;
  readonly timestamp: string;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export class ProfileBoard {
  private readonly rows = new Map<string, ProfileRow>();

  constructor(private readonly node?: string) {}

  /** Takes one event; returns its row, or undefined for an event that is no profile or of another node. */
  add(event: Record<string, unknown>): ProfileRow | undefined {
    if (event.event_type !== 'PERFORMANCE_PROFILE') return undefined;
    const nodeId = String(event.node_id ?? '');
    if (this.node !== undefined && nodeId !== this.node) return undefined;
    const m = (event.metadata ?? {}) as Record<string, unknown>;
    if (typeof m.operation !== 'string') return undefined;
    const b = (m.breakdown ?? {}) as Record<string, unknown>;
    const key = `${nodeId}\u0000${m.operation}`;
    const previous = this.rows.get(key);
    const p99 = num(b.p99_ms ?? m.duration_ms);
    const row: ProfileRow = {
      node_id: nodeId,
      operation: m.operation,
      count: num(m.sample_count),
      p50_ms: num(b.p50_ms ?? m.duration_ms),
      p95_ms: num(b.p95_ms ?? m.duration_ms),
      p99_ms: p99,
      max_ms: num(b.max_ms ?? m.duration_ms),
      cpu_time_ms: num(m.cpu_time_ms),
      memory_peak_bytes: num(m.memory_peak_bytes),
      event_loop_delay_max_ms: num(b.event_loop_delay_max_ms),
      window_ms: num(b.window_ms),
      p99_trend_ms: previous ? Math.round((p99 - previous.p99_ms) * 1000) / 1000 : null,
      timestamp: String(event.timestamp ?? ''),
    };
    this.rows.set(key, row);
    return row;
  }

  /** Rows by p99, slowest first (ties by operation name). */
  sorted(): ProfileRow[] {
    return [...this.rows.values()].sort((a, b) => b.p99_ms - a.p99_ms || a.operation.localeCompare(b.operation));
  }

  /** The table as text, at most `limit` rows. */
  render(limit = 30): string {
    const rows = this.sorted().slice(0, limit);
    if (rows.length === 0) return 'waiting for PERFORMANCE_PROFILE events...';
    const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
    const trend = (t: number | null) => (t === null ? '' : t > 0 ? `↑ +${ms(t)}` : t < 0 ? `↓ -${ms(-t)}` : '=');
    const mb = (b: number) => `${(b / 1_048_576).toFixed(0)} MB`;
    const head = ['NODE', 'OPERATION', 'COUNT', 'P50 ms', 'P95 ms', 'P99 ms', 'MAX ms', 'TREND p99', 'CPU ms', 'MEM peak', 'LOOP max ms'];
    const body = rows.map((r) => [r.node_id, r.operation, String(r.count), ms(r.p50_ms), ms(r.p95_ms), ms(r.p99_ms), ms(r.max_ms), trend(r.p99_trend_ms), ms(r.cpu_time_ms), mb(r.memory_peak_bytes), ms(r.event_loop_delay_max_ms)]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
    return [line(head), ...body.map(line)].join('\n');
  }
}
