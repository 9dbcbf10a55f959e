import { createHash } from 'node:crypto';
import type { AnyOnexEvent } from '../../event/index.js';
import type { OutputRecord, ProcessorDefinition, RecordContext, TaskContext } from '../types.js';
import { renderTemplate, type AlertRule } from './rules.js';

/**
 * The rule engine as a processor definition: every rule's windows and alerts live in the partition's keyed stores
 * (so they are restored from the changelog), and every deadline (a window's oldest event leaving it, `for`,
 * `keep_firing_for`, an absence, a sequence's `within`) is one timer per rule and key, so an idle key still changes
 * state when the watermark (or the processing-time tick) passes the deadline.
 *
 * Each rule has, per key, a condition that is true or false at an event time t (windows are (t - W, t]):
 *   threshold / deprecated_schema: at least `count` events in the window; ratio: at least `min_count` `of` events in
 *   the window and matching / of above `above`; sequence: a `then` followed a `first` within `within` in the window;
 *   sequence with absent: a `first` is older than `within` with no `then` after it; absence: the key's last matching
 *   event is at least `window` old.
 * The alert follows Prometheus's lifecycle: the condition turning true makes it pending (at t); true for `for` makes
 * it firing (at t + for, straight away when for is 0); a pending alert whose condition turns false is dropped; a
 * firing one resolves once the condition has been false for `keep_firing_for`. One alert per rule and key at a time.
 * Transitions are emitted in the batch's transaction, so a restarted processor emits each one exactly once.
 */

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface AlertTransition {
  rule: string;
  kind: AlertRule['kind'];
  /** The group-by values, `{ node_id: 'n1' }`; {} for a rule without `by`. */
  key: Record<string, string>;
  state: AlertState;
  /** Event time of the transition, ms since the epoch. */
  at: number;
  /** Same for every transition of one alert: sha256 of rule, key and the time it became active. */
  alertId: string;
  /** Same for every alert of one rule and key. */
  fingerprint: string;
  activeAt: number;
  /** The window's count when the condition last held (matching events; for ratio, the `of` events). */
  count: number;
  /** The ratio for ratio rules, else the count. */
  value: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Correlation ids of the events that caused the alert (at most MAX_CAUSES). */
  correlationIds: string[];
}

export interface AlertEngineOptions {
  /** Processor name (the metrics' `processor` label); default 'alerts'. */
  name?: string;
  /** Turns a transition into the records to emit; default JSON of the transition on `onex.alerts`, keyed by alert id. */
  output?: (t: AlertTransition) => OutputRecord[];
  /** Called for each transition (after output), e.g. for a gauge or a test; must not throw. */
  onTransition?: (t: AlertTransition) => void;
  /** Whether a rule is switched on (per-rule feature flag); read per event. Default all on. */
  enabled?: (rule: string) => boolean;
  /** Keys per store and partition before LRU eviction (default 100,000). */
  maxKeys?: number;
}

const MAX_CAUSES = 20;
/** Events remembered per window, past which the oldest are let go (counts saturate here). */
const MAX_WINDOW_EVENTS = 10_000;
const SEP = '\u001f';

interface Alert {
  state: 'pending' | 'firing';
  activeAt: number;
  /** When the condition turned false while firing (keep_firing_for runs from here). */
  falseSince?: number;
  count: number;
  value: number;
  corr: string[];
  key: Record<string, string>;
}

/** Window state of one rule and key; which fields are used depends on the kind. */
interface Win {
  key: Record<string, string>;
  /** threshold / deprecated_schema: matching times; ratio: `of` times; sequence: match times; absence: [last]. */
  t: number[];
  /** ratio: whether each `of` event also matched. */
  hit?: boolean[];
  /** sequence: pending `first` times. */
  starts?: number[];
  corr: string[];
}

function fieldOf(event: Record<string, unknown>, path: string): string | undefined {
  let v: unknown = event;
  for (const p of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  if (v === undefined || v === null) return undefined;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function sha(...parts: string[]): string {
  return createHash('sha256').update(parts.join(SEP)).digest('hex').slice(0, 32);
}

function pushCause(list: string[], id: string | undefined): void {
  if (id === undefined || list.includes(id)) return;
  list.push(id);
  if (list.length > MAX_CAUSES) list.shift();
}

export function createAlertEngine(rules: readonly AlertRule[], o: AlertEngineOptions = {}): ProcessorDefinition {
  const byName = new Map(rules.map((r) => [r.name, r]));
  const output = o.output ?? ((t: AlertTransition) => [{ topic: 'onex.alerts', key: t.alertId, value: JSON.stringify(t) }]);
  const enabled = o.enabled ?? (() => true);
  const maxKeys = o.maxKeys ?? 100_000;

  const windowOf = (r: AlertRule) => (r.kind === 'sequence' ? r.withinMs : r.windowMs);

  /** The condition at `now` and the next time it may change by itself (an event leaving the window, a deadline). */
  function condition(r: AlertRule, w: Win, now: number): { on: boolean; count: number; value: number; next?: number } {
    const W = windowOf(r);
    const prune = (keepHits: boolean) => {
      while (w.t.length > 0 && w.t[0]! <= now - W) {
        w.t.shift();
        if (keepHits) w.hit!.shift();
      }
    };
    switch (r.kind) {
      case 'threshold':
      case 'deprecated_schema': {
        prune(false);
        const n = w.t.length;
        const on = n >= r.count;
        return { on, count: n, value: n, next: on ? w.t[n - r.count]! + W : undefined };
      }
      case 'ratio': {
        prune(true);
        const total = w.t.length;
        const hits = w.hit!.filter(Boolean).length;
        const ratio = total === 0 ? 0 : hits / total;
        return { on: total >= r.minCount && ratio > r.above, count: total, value: ratio, next: total > 0 ? w.t[0]! + W : undefined };
      }
      case 'sequence': {
        const starts = w.starts ?? [];
        if (!r.absent) {
          prune(false);
          while (starts.length > 0 && starts[0]! <= now - W) starts.shift();
          const last = w.t[w.t.length - 1];
          return { on: w.t.length > 0, count: w.t.length, value: w.t.length, next: last === undefined ? undefined : last + W };
        }
        const overdue = starts.length > 0 && starts[0]! + W <= now;
        return { on: overdue, count: starts.length, value: starts.length, next: !overdue && starts.length > 0 ? starts[0]! + W : undefined };
      }
      case 'absence': {
        const last = w.t[0];
        if (last === undefined) return { on: false, count: 0, value: 0 };
        const on = last + W <= now;
        return { on, count: 0, value: 0, next: on ? undefined : last + W };
      }
    }
  }

  function transition(ctx: TaskContext, r: AlertRule, a: Alert, state: AlertState, at: number): void {
    const fingerprint = sha(r.name, JSON.stringify(a.key));
    const values = { rule: r.name, key: a.key, count: a.count, value: a.value, labels: r.labels };
    const labels = Object.fromEntries(Object.entries(r.labels).map(([k, v]) => [k, renderTemplate(v, values)]));
    const t: AlertTransition = {
      rule: r.name,
      kind: r.kind,
      key: a.key,
      state,
      at,
      alertId: sha(r.name, JSON.stringify(a.key), String(a.activeAt)),
      fingerprint,
      activeAt: a.activeAt,
      count: a.count,
      value: a.value,
      labels,
      annotations: Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, renderTemplate(v, { ...values, labels })])),
      correlationIds: [...a.corr],
    };
    for (const rec of output(t)) ctx.emit(rec);
    o.onTransition?.(t);
  }

  /** Re-evaluates one rule and key at `now`: lifecycle transitions, then the one timer for its next deadline. */
  function evaluate(ctx: TaskContext, r: AlertRule, id: string, now: number): void {
    const wins = ctx.store<Win>(`w:${r.name}`);
    const alerts = ctx.store<Alert>(`a:${r.name}`);
    const w = wins.get(id);
    let a = alerts.get(id);
    if (!w) return;
    const c = condition(r, w, now);
    let deadline: number | undefined = c.next;
    const soonest = (t: number) => {
      deadline = deadline === undefined ? t : Math.min(deadline, t);
    };
    if (c.on) {
      if (!a) {
        a = { state: 'pending', activeAt: now, count: c.count, value: c.value, corr: [...w.corr], key: w.key };
        transition(ctx, r, a, 'pending', now);
      }
      a.count = c.count;
      a.value = c.value;
      a.corr = [...w.corr];
      delete a.falseSince;
      if (a.state === 'pending') {
        if (now >= a.activeAt + r.forMs) {
          a.state = 'firing';
          transition(ctx, r, a, 'firing', a.activeAt + r.forMs);
        } else soonest(a.activeAt + r.forMs);
      }
      alerts.put(id, a);
    } else if (a) {
      if (a.state === 'pending') {
        alerts.delete(id);
        a = undefined;
      } else {
        const since = a.falseSince ?? now;
        if (now >= since + r.keepFiringForMs) {
          transition(ctx, r, a, 'resolved', since + r.keepFiringForMs);
          alerts.delete(id);
          a = undefined;
        } else {
          a.falseSince = since;
          alerts.put(id, a);
          soonest(since + r.keepFiringForMs);
        }
      }
    }
    wins.put(id, w);
    const timerId = `${r.name}${SEP}${id}`;
    if (deadline !== undefined && deadline > now) ctx.setTimer(timerId, deadline);
    else ctx.cancelTimer(timerId);
    // A key with nothing left to watch is let go (an absence key stays: its next event resolves or re-arms it).
    if (!a && deadline === undefined && r.kind !== 'absence' && w.t.length === 0 && (w.starts?.length ?? 0) === 0) wins.delete(id);
  }

  function observe(r: AlertRule, event: Record<string, unknown>, ctx: RecordContext): void {
    const keyValues: Record<string, string> = {};
    for (const b of r.by) {
      const v = fieldOf(event, b);
      if (v === undefined) return;
      keyValues[b] = v;
    }
    const id = JSON.stringify(r.by.map((b) => keyValues[b]));
    const now = ctx.eventTime;
    const corr = typeof event.correlation_id === 'string' ? event.correlation_id : undefined;
    const wins = ctx.store<Win>(`w:${r.name}`);
    const existing = wins.get(id);
    const fresh = (): Win => ({ key: keyValues, t: [], corr: [], ...(r.kind === 'ratio' ? { hit: [] } : {}), ...(r.kind === 'sequence' ? { starts: [] } : {}) });
    let w: Win | undefined;
    const win = () => (w ??= existing ?? fresh());
    const insert = (t: number, hit?: boolean) => {
      const ww = win();
      // A late event (late: 'process') goes to its place in time.
      let i = ww.t.length;
      while (i > 0 && ww.t[i - 1]! > t) i--;
      ww.t.splice(i, 0, t);
      if (hit !== undefined) ww.hit!.splice(i, 0, hit);
      if (ww.t.length > MAX_WINDOW_EVENTS) {
        ww.t.shift();
        ww.hit?.shift();
      }
    };
    switch (r.kind) {
      case 'threshold':
        if (!r.match(event)) return;
        insert(now);
        break;
      case 'deprecated_schema':
        if (!r.versions.includes(ctx.writerVersion) || (r.match && !r.match(event))) return;
        insert(now);
        break;
      case 'ratio': {
        if (!r.of(event)) return;
        insert(now, r.match(event));
        break;
      }
      case 'absence':
        if (!r.match(event)) return;
        win().t = [now];
        win().corr = [];
        break;
      case 'sequence': {
        const isFirst = r.first(event);
        const isThen = r.then(event);
        if (!isFirst && !isThen) return;
        if (isThen && existing?.starts?.length) {
          const open = existing.starts.filter((s) => s > now - r.withinMs && s <= now);
          if (r.absent) win().starts = [];
          else if (open.length > 0) {
            win().starts = [];
            insert(now);
          }
        }
        if (isFirst) {
          win().starts!.push(now);
          if (win().starts!.length > MAX_WINDOW_EVENTS) win().starts!.shift();
        }
        break;
      }
    }
    if (!w) return;
    pushCause(w.corr, corr);
    wins.put(id, w);
    evaluate(ctx, r, id, now);
  }

  return {
    name: o.name ?? 'alerts',
    stores: Object.fromEntries(rules.flatMap((r) => [[`w:${r.name}`, { maxKeys }], [`a:${r.name}`, { maxKeys }]])),
    process(event: AnyOnexEvent, ctx: RecordContext) {
      const e = event as unknown as Record<string, unknown>;
      for (const r of rules) if (enabled(r.name)) observe(r, e, ctx);
    },
    onTimer(id: string, at: number, ctx: TaskContext) {
      const sep = id.indexOf(SEP);
      const r = byName.get(id.slice(0, sep));
      if (r) evaluate(ctx, r, id.slice(sep + 1), at);
    },
  };
}
