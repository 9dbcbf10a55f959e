import * as crypto from 'node:crypto';
import type { AnyOnexEvent } from '../../event/index.js';
import type { OutputRecord, ProcessorDefinition, RecordContext, TaskContext } from '../types.js';
import { activeSpanContext, formatTraceparent } from '../../telemetry/internal.js';
import { Alert, alertOf, LiveEntry, newShared, readEntry, Win, winOf, type GroupEntry, type PlainAlert, type PlainWin, type Slot } from './entry.js';
import { renderTemplate, type AlertRule, type Predicate } from './rules.js';

/**
 * The rule engine as a processor definition. The rules that group by the same `by` fields share one keyed store, and
 * one entry per key in it holds every such rule's window, alert and next deadline (a window's oldest event leaving
 * it, `for`, `keep_firing_for`, an absence, a sequence's `within`). The key has one timer, at the earliest of those
 * deadlines, so an idle key still changes state when the watermark (or the processing-time tick) passes it. An event
 * therefore writes one state entry (one changelog record at the commit) per group it concerns, however many of the
 * group's rules it feeds; state from before this layout (a store per rule and a timer per rule and key) is moved into
 * it by the first record or timer of a partition (see migrate).
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
  /** Same for every transition of one alert: sha256 of rule, key, the time it became active and (past 0) the input partition. */
  alertId: string;
  /** The input partition whose state holds the alert (rules are evaluated per partition). */
  partition: number;
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
  /**
   * The traceparent of the span that processed the latest event feeding the alert (when the processor traces), so
   * the ALERT event joins that event's trace even when a timer, not an event, makes the transition.
   */
  traceparent?: string;
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
  /**
   * Pre-filters (default true; the onex.alerts.prefilter flag): an event meets only the rules whose expressions can
   * be true for its event_type (and `event_types`), and each expression's cheap guards run before its CEL program.
   * Off: every rule's CEL runs on every event. The transitions are the same either way.
   */
  prefilter?: boolean;
}

const MAX_CAUSES = 20;
/** Alerts whose ids are remembered (see idsOf). */
const MAX_IDS = 10_000;
/** Events remembered per window, past which the oldest are let go (counts saturate here). */
const MAX_WINDOW_EVENTS = 10_000;
const SEP = '\u001f';

function fieldOf(event: Record<string, unknown>, path: readonly string[]): string | undefined {
  let v: unknown = event;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  if (v === undefined || v === null) return undefined;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Hex sha256 of a text: crypto.hash where Node has it (20.12 on: one call, no Hash object), else createHash. */
const sha256Hex: (text: string) => string = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'hex')
  : (text) => crypto.createHash('sha256').update(text).digest('hex');

function sha(...parts: string[]): string {
  return sha256Hex(parts.join(SEP)).slice(0, 32);
}

/** The rules that share `by` fields, their store and how the key is read. */
interface RuleGroup {
  /** The store's name; starts with `g#`, which no rule name can (rule names are letters, digits and _ . : -). */
  store: string;
  by: readonly string[];
  paths: string[][];
  rules: AlertRule[];
  /** The rules' names, in the order of `rules` (an entry's slots name their rule by its place here). */
  names: string[];
  /** Each rule's place in `rules` by name: an entry's slots are walked (a key has state for few of the group's rules), not the rules. */
  index: Map<string, number>;
  /** Each rule's condition (see conditionOf), in the order of `rules`. */
  conds: Condition[];
}

/** The store of the layout's version (`format`); a partition whose state has no version 2 yet is migrated first. */
const META_STORE = 'alerts#meta';
const FORMAT = 2;

// Windows, alerts and slots are made with every field, in one order (absent ones undefined), so that they all share
// one shape: the engine's reads of them stay monomorphic, and no `delete` turns one into a slow dictionary.

function freshWin(r: AlertRule): Win {
  return new Win([], 0, 0, r.kind === 'ratio' ? [] : undefined, 0, 0, r.kind === 'sequence' ? [] : undefined, 0, 0, [], 0, 0, undefined);
}

/** Makes w an empty window of the rule's kind (new arrays: the views of a window are appended to). */
function clearWin(w: Win, r: AlertRule): Win {
  w.tb = [];
  w.tl = w.th = 0;
  w.hb = r.kind === 'ratio' ? [] : undefined;
  w.hl = w.hh = 0;
  w.sb = r.kind === 'sequence' ? [] : undefined;
  w.sl = w.sh = 0;
  w.cb = [];
  w.cl = w.ch = 0;
  w.tp = undefined;
  return w;
}

/**
 * Scratch objects an event works on in observe and evaluate before anything is kept: the slot, its window and its
 * alert are made (copied out of these) only when they come out different from the stored ones and, for a window,
 * from the one the event last left in another rule's slot. The stored ones are never changed (the undo log keeps them).
 */
const scratchWin = new Win([], 0, 0, undefined, 0, 0, undefined, 0, 0, [], 0, 0, undefined);
const scratchAlert = new Alert('pending', 0, undefined, 0, 0, [], 0, 0, undefined);
const scratchSlot: Slot = { w: scratchWin, a: undefined, d: undefined };

/** Drops the window's times at or before `now - W` (and their hits). */
function prune(w: Win, cutoff: number): void {
  const tb = w.tb;
  let i = w.tl;
  while (i < w.th && tb[i]! <= cutoff) i++;
  if (i > w.tl) w.dropT(i - w.tl);
}

/** Where the current event was last appended (see Shared in entry.ts); reset per event. */
const shared = newShared();
/**
 * The windows, alerts and slots the current event made so far (reset per event; at most KEPT of each, since timers
 * between two events add to them too). Kept objects are never changed, so rules whose window (alert, slot) came out
 * the same for the event, as rules of a kind fed by the same events do, hold one object: fewer made, fewer live.
 */
const KEPT = 32;
const keptWins: Win[] = [];
const keptAlerts: Alert[] = [];
const keptSlots: Slot[] = [];
const keptN = { w: 0, a: 0, s: 0 };

/** A window equal to w: one kept for this event, `stored` (the slot's before it), or a new copy (kept then). */
function keepWin(w: Win, stored: Win | undefined): Win {
  for (let i = 0; i < keptN.w; i++) if (keptWins[i]!.same(w)) return keptWins[i]!;
  const c = stored !== undefined && stored.same(w) ? stored : w.copy();
  if (keptN.w < KEPT) keptWins[keptN.w++] = c;
  return c;
}

/** An alert equal to a (the scratch alert): `prev` (the slot's before it), one kept for this event, or a new copy. */
function keepAlert(a: Alert, prev: Alert): Alert {
  if (a.same(prev)) return prev;
  for (let i = 0; i < keptN.a; i++) if (keptAlerts[i]!.same(a)) return keptAlerts[i]!;
  const c = a.copy();
  if (keptN.a < KEPT) keptAlerts[keptN.a++] = c;
  return c;
}

/** A slot holding w, a and d: `stored` (the rule's before), one kept for this event, or a new one. */
function keepSlot(w: Win, a: Alert | undefined, d: number | undefined, stored: Slot | undefined): Slot {
  if (stored !== undefined && stored.w === w && stored.a === a && stored.d === d) return stored;
  for (let i = 0; i < keptN.s; i++) {
    const k = keptSlots[i]!;
    if (k.w === w && k.a === a && k.d === d) return k;
  }
  const s: Slot = { w, a, d };
  if (keptN.s < KEPT) keptSlots[keptN.s++] = s;
  return s;
}

/** Inserts an event time in order (a late event, with late: process, goes to its place in time). */
function insertAt(w: Win, t: number, hit?: boolean): void {
  if (w.th === w.tl || w.tb[w.th - 1]! <= t) w.pushT(t, hit, shared);
  else {
    let i = w.th;
    while (i > w.tl && w.tb[i - 1]! > t) i--;
    w.insertT(i - w.tl, t, hit);
  }
  if (w.th - w.tl > MAX_WINDOW_EVENTS) w.dropT(1);
}

/** Whether a sequence window holds a `first` in (from, to]. */
function openStart(w: Win, from: number, to: number): boolean {
  const sb = w.sb!;
  for (let i = w.sl; i < w.sh; i++) if (sb[i]! > from && sb[i]! <= to) return true;
  return false;
}

/** The predicates a rule's relevance is decided by: the event can concern the rule only if one of them can be true. */
function gatePredicates(r: AlertRule): Array<Predicate | undefined> {
  switch (r.kind) {
    case 'threshold':
    case 'absence':
      return [r.match];
    case 'ratio':
      return [r.of];
    case 'sequence':
      return [r.first, r.then];
    case 'deprecated_schema':
      return [r.match];
  }
}

/** The event types a rule can concern (undefined: any), from its expressions and its `event_types`. */
function typesOf(r: AlertRule, prefilter: boolean): ReadonlySet<string> | undefined {
  const explicit = r.eventTypes ? new Set(r.eventTypes) : undefined;
  if (!prefilter) return explicit;
  let read: Set<string> | undefined = new Set();
  for (const p of gatePredicates(r)) {
    if (!p?.eventTypes) {
      read = undefined;
      break;
    }
    for (const t of p.eventTypes) read.add(t);
  }
  if (!read) return explicit;
  return explicit ? new Set([...read].filter((t) => explicit.has(t))) : read;
}

/** A rule's condition at `now` (see conditionOf in createAlertEngine). */
type Condition = (w: Win, now: number) => { on: boolean; count: number; value: number; next: number | undefined };

/** Distinct event types whose rule lists are kept; past it the cache starts again (a stream of made-up types). */
const MAX_TYPE_LISTS = 10_000;

/** What an event is to a rule: nothing (false), or what it feeds; for ratio whether it also matched. */
type Relevance = boolean | 'first' | 'then' | 'both' | 'hit' | 'miss';
type Relevant = (event: Record<string, unknown>, ctx: RecordContext) => Relevance;

/** Whether the event concerns the rule at all (decided before any key work), made once per rule. */
function relevanceOf(r: AlertRule, test: (p: Predicate) => (event: Record<string, unknown>) => boolean): Relevant {
  const types = r.eventTypes;
  const inner = ((): Relevant => {
    switch (r.kind) {
      case 'threshold':
      case 'absence': {
        const match = test(r.match);
        return (event) => match(event);
      }
      case 'deprecated_schema': {
        const { versions } = r;
        const match = r.match && test(r.match);
        return (event, ctx) => versions.includes(ctx.writerVersion) && (!match || match(event));
      }
      case 'ratio': {
        const of = test(r.of);
        const match = test(r.match);
        return (event) => (of(event) ? (match(event) ? 'hit' : 'miss') : false);
      }
      case 'sequence': {
        const first = test(r.first);
        const then = test(r.then);
        return (event) => {
          const isFirst = first(event);
          const isThen = then(event);
          return isFirst ? (isThen ? 'both' : 'first') : isThen ? 'then' : false;
        };
      }
    }
  })();
  return types ? (event, ctx) => types.includes(event.event_type as string) && inner(event, ctx) : inner;
}

/** The rules of one group an event of some type can concern, in file order, with each one's relevance test. */
interface Plan {
  g: RuleGroup;
  rules: AlertRule[];
  /** Each rule's place in its group. */
  places: number[];
  relevant: Relevant[];
}

export function createAlertEngine(rules: readonly AlertRule[], o: AlertEngineOptions = {}): ProcessorDefinition {
  const byName = new Map(rules.map((r) => [r.name, r]));
  const prefilter = o.prefilter ?? true;
  /** Counts process() calls: a memoised predicate's result holds for the event of the call it was computed in. */
  let eventNo = 0;
  /** One memoised predicate per expression text: rules sharing a condition evaluate it once per event. */
  const memo = new Map<string, (event: Record<string, unknown>) => boolean>();
  /** Each rule's predicates, with or without their guards; those of one text (see Predicate.source) share one result per event. */
  const test = (p: Predicate): ((event: Record<string, unknown>) => boolean) => {
    const fn = prefilter ? p : p.unfiltered;
    const src = p.source;
    if (src === undefined) return fn;
    let m = memo.get(src);
    if (!m) {
      let at = -1;
      let value = false;
      m = (event) => {
        if (at !== eventNo) {
          value = fn(event);
          at = eventNo;
        }
        return value;
      };
      memo.set(src, m);
    }
    return m;
  };
  const tests = new Map(rules.map((r) => [r, { types: typesOf(r, prefilter), relevant: relevanceOf(r, test) }]));
  /** The rule groups (rules with the same `by`, in order of their first rule) and each rule's group. */
  const groups = new Map<string, RuleGroup>();
  const groupOf = new Map<AlertRule, RuleGroup>();
  for (const r of rules) {
    const store = `g#${JSON.stringify(r.by)}`;
    let g = groups.get(store);
    if (!g) groups.set(store, (g = { store, by: r.by, paths: r.by.map((b) => b.split('.')), rules: [], names: [], index: new Map(), conds: [] }));
    g.index.set(r.name, g.rules.length);
    g.names.push(r.name);
    g.rules.push(r);
    groupOf.set(r, g);
  }
  const planOf = (list: readonly AlertRule[]): Plan[] => {
    const plans = new Map<RuleGroup, AlertRule[]>();
    for (const r of list) {
      const g = groupOf.get(r)!;
      const l = plans.get(g);
      if (l) l.push(r);
      else plans.set(g, [r]);
    }
    // Groups in one order whatever the list (that of their first rule in the file), so a type's list and the full list
    // (pre-filters off) emit an event's transitions in the same order.
    const order = [...groups.values()];
    return [...plans]
      .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
      .map(([g, rs]) => ({ g, rules: rs, places: rs.map((r) => g.index.get(r.name)!), relevant: rs.map((r) => tests.get(r)!.relevant) }));
  };
  /** The rules (in file order, by group) an event of a type can concern; rules without a type condition are in every list. */
  const allRules = planOf(rules);
  const anyType = planOf(rules.filter((r) => tests.get(r)!.types === undefined));
  const byType = new Map<string, Plan[]>();
  const plansFor = (type: unknown): readonly Plan[] => {
    if (typeof type !== 'string') return anyType;
    let list = byType.get(type);
    if (!list) {
      if (byType.size >= MAX_TYPE_LISTS) byType.clear();
      list = planOf(rules.filter((r) => {
        const types = tests.get(r)!.types;
        return types === undefined || types.has(type);
      }));
      byType.set(type, list);
    }
    return list;
  };
  const output = o.output ?? ((t: AlertTransition) => [{ topic: 'onex.alerts', key: t.alertId, value: JSON.stringify(t) }]);
  /** Undefined: every rule is on (no call per rule and event). */
  const enabled = o.enabled;
  const maxKeys = o.maxKeys ?? 100_000;

  /** The result of a condition (one object, reused: evaluate reads it at once). */
  const res = { on: false, count: 0, value: 0, next: undefined as number | undefined };
  const hold = (on: boolean, count: number, value: number, next: number | undefined) => {
    res.on = on;
    res.count = count;
    res.value = value;
    res.next = next;
    return res;
  };

  /**
   * A rule's condition at `now` and the next time it may change by itself (an event leaving the window, a deadline),
   * made once per rule with the rule's numbers in it, so each call does only its kind's work.
   */
  function conditionOf(r: AlertRule): (w: Win, now: number) => typeof res {
    switch (r.kind) {
      case 'threshold':
      case 'deprecated_schema': {
        const W = r.windowMs;
        const count = r.count;
        return (w, now) => {
          prune(w, now - W);
          const n = w.th - w.tl;
          const on = n >= count;
          return hold(on, n, n, on ? w.tb[w.th - count]! + W : undefined);
        };
      }
      case 'ratio': {
        const W = r.windowMs;
        const { minCount, above } = r;
        return (w, now) => {
          prune(w, now - W);
          const total = w.th - w.tl;
          const hit = w.hb!;
          let hits = 0;
          for (let i = w.hl; i < w.hh; i++) if (hit[i]) hits++;
          const ratio = total === 0 ? 0 : hits / total;
          return hold(total >= minCount && ratio > above, total, ratio, total > 0 ? w.tb[w.tl]! + W : undefined);
        };
      }
      case 'sequence': {
        const W = r.withinMs;
        if (!r.absent) {
          return (w, now) => {
            prune(w, now - W);
            const sb = w.sb;
            if (sb !== undefined) while (w.sl < w.sh && sb[w.sl]! <= now - W) w.sl++;
            const n = w.th - w.tl;
            return hold(n > 0, n, n, n === 0 ? undefined : w.tb[w.th - 1]! + W);
          };
        }
        return (w, now) => {
          const n = w.sb === undefined ? 0 : w.sh - w.sl;
          const first = n > 0 ? w.sb![w.sl]! : 0;
          const overdue = n > 0 && first + W <= now;
          return hold(overdue, n, n, !overdue && n > 0 ? first + W : undefined);
        };
      }
      case 'absence': {
        const W = r.windowMs;
        return (w, now) => {
          if (w.th === w.tl) return hold(false, 0, 0, undefined);
          const last = w.tb[w.tl]!;
          const on = last + W <= now;
          return hold(on, 0, 0, on ? undefined : last + W);
        };
      }
    }
  }
  const conditions = new Map(rules.map((r) => [r, conditionOf(r)]));
  for (const g of groups.values()) g.conds = g.rules.map((r) => conditions.get(r)!);
  /** Each rule's label and annotation templates as lists, read once. */
  const templatesOf = new Map(rules.map((r) => [r, { labelList: Object.entries(r.labels), annotationList: Object.entries(r.annotations) }]));

  /**
   * The fingerprint and alert id of an alert, remembered: an alert's transitions (pending and firing often in one call,
   * resolved later) need the same two sha256 digests. Past MAX_IDS alerts the memory starts again.
   */
  const ids = new Map<string, { fingerprint: string; alertId: string }>();
  const fingerprints = new Map<string, string>();
  const idsOf = (r: AlertRule, keyText: string, activeAt: number, partition: number) => {
    const k = `${partition}${SEP}${r.name}${SEP}${keyText}${SEP}${activeAt}`;
    let v = ids.get(k);
    if (!v) {
      if (ids.size >= MAX_IDS) ids.clear();
      // The partition too: state is per input partition, so two partitions can hold an alert of the same rule and key
      // (a key that is not the record key) that became active at the same millisecond; their ids and events differ.
      const alertId = partition === 0 ? sha(r.name, keyText, String(activeAt)) : sha(r.name, keyText, String(activeAt), `p${partition}`);
      // The fingerprint is per rule and key: remembered apart, for the key's later alerts.
      const fk = `${r.name}${SEP}${keyText}`;
      let fingerprint = fingerprints.get(fk);
      if (fingerprint === undefined) {
        if (fingerprints.size >= MAX_IDS) fingerprints.clear();
        fingerprints.set(fk, (fingerprint = sha(r.name, keyText)));
      }
      ids.set(k, (v = { fingerprint, alertId }));
    }
    return v;
  };

  function transition(ctx: TaskContext, r: AlertRule, key: Record<string, string>, a: Alert, state: AlertState, at: number): void {
    const keyText = JSON.stringify(key);
    const { fingerprint, alertId } = idsOf(r, keyText, a.activeAt, ctx.partition);
    const values = { rule: r.name, key, count: a.count, value: a.value, labels: r.labels };
    const { labelList, annotationList } = templatesOf.get(r)!;
    // Made as before (fromEntries: a label named __proto__ stays a label), skipped when the rule has none.
    const labels: Record<string, string> = labelList.length === 0 ? {} : Object.fromEntries(labelList.map(([k, v]) => [k, renderTemplate(v, values)]));
    let annotations: Record<string, string> = {};
    if (annotationList.length > 0) {
      const withLabels = { ...values, labels };
      annotations = Object.fromEntries(annotationList.map(([k, v]) => [k, renderTemplate(v, withLabels)]));
    }
    const t: AlertTransition = {
      rule: r.name,
      kind: r.kind,
      key,
      state,
      at,
      alertId,
      partition: ctx.partition,
      fingerprint,
      activeAt: a.activeAt,
      count: a.count,
      value: a.value,
      labels,
      annotations,
      correlationIds: a.corr(),
      ...(a.tp ? { traceparent: a.tp } : {}),
    };
    for (const rec of output(t)) ctx.emit(rec);
    o.onTransition?.(t);
  }

  /**
   * Re-evaluates one rule's slot of a key at `now` (the slot is the caller's copy, changed here): lifecycle transitions,
   * then the slot's next deadline. Returns false when the rule has nothing left to watch for the key (an absence key
   * stays: its next event resolves or re-arms it).
   */
  function evaluate(ctx: TaskContext, r: AlertRule, cond: Condition, key: Record<string, string>, s: Slot, now: number): boolean {
    const w = s.w;
    // The stored alert is worked on in a scratch copy (the state's undo log keeps the old entry, and so this object),
    // kept below as a new alert only when it changed.
    const prev = s.a;
    let a: Alert | undefined = prev === undefined ? undefined : scratchAlert.set(prev);
    const { on, count, value, next } = cond(w, now);
    let deadline: number | undefined = next;
    if (on) {
      if (!a) {
        a = new Alert('pending', now, undefined, count, value, w.cb, w.cl, w.ch, w.tp);
        transition(ctx, r, key, a, 'pending', now);
      }
      a.count = count;
      a.value = value;
      // Shared, not copied: a stored list is never changed in place (ownSlot copies the window before an event changes it).
      a.cb = w.cb;
      a.cl = w.cl;
      a.ch = w.ch;
      if (w.tp) a.tp = w.tp;
      a.falseSince = undefined;
      if (a.state === 'pending') {
        if (now >= a.activeAt + r.forMs) {
          a.state = 'firing';
          transition(ctx, r, key, a, 'firing', a.activeAt + r.forMs);
        } else deadline = deadline === undefined ? a.activeAt + r.forMs : Math.min(deadline, a.activeAt + r.forMs);
      }
    } else if (a) {
      if (a.state === 'pending') a = undefined;
      else {
        const since = a.falseSince ?? now;
        if (now >= since + r.keepFiringForMs) {
          transition(ctx, r, key, a, 'resolved', since + r.keepFiringForMs);
          a = undefined;
        } else {
          a.falseSince = since;
          deadline = deadline === undefined ? since + r.keepFiringForMs : Math.min(deadline, since + r.keepFiringForMs);
        }
      }
    }
    if (a === scratchAlert) a = keepAlert(a, prev!);
    s.a = a;
    s.d = deadline !== undefined && deadline > now ? deadline : undefined;
    return !(!a && deadline === undefined && r.kind !== 'absence' && w.th === w.tl && (w.sb === undefined || w.sh === w.sl));
  }

  /** A copy of a key's entry to change (the stored one stays as the undo log has it); slots of rules no longer in the group go. */
  function copyEntry(g: RuleGroup, e: GroupEntry): LiveEntry {
    // One this engine made for the group, with no slot dropped: every slot is kept, so its two arrays are copied whole.
    // Its slot order is shared until the copy adds a slot (LiveEntry.addSlot).
    if (e instanceof LiveEntry && e.g === g && e.holes === 0) {
      const c = entryOf(g, e.k, e.ids, e.slots.slice());
      c.idsShared = true;
      return c;
    }
    const ids: number[] = [];
    const slots: Slot[] = [];
    const add = (name: string, s: Slot | undefined) => {
      const place = g.index.get(name);
      if (s && place !== undefined) {
        ids.push(place);
        slots.push(s);
      }
    };
    if (e instanceof LiveEntry) for (let j = 0; j < e.slots.length; j++) add(e.names[e.ids[j]!]!, e.slots[j]);
    else for (const name in e.r) add(name, e.r[name]);
    return entryOf(g, e.k, ids, slots);
  }

  function entryOf(g: RuleGroup, k: Record<string, string>, ids: number[], slots: Array<Slot | undefined>): LiveEntry {
    const e = new LiveEntry(k, ids, slots, g.names);
    e.g = g;
    return e;
  }

  /** Where the slot of the rule at `place` of the group is in the entry, or -1. */
  function slotAt(e: LiveEntry, place: number): number {
    const ids = e.ids;
    for (let j = 0; j < ids.length; j++) if (ids[j] === place) return j;
    return -1;
  }

  /** Lets the slot at j of an entry copy go. */
  function drop(e: LiveEntry, j: number): void {
    e.slots[j] = undefined;
    e.holes++;
  }

  /** The rule's slot in the entry copy (at j, or a new one at the end when j is -1), itself a copy (its window copied) the caller may change; returns where it is. */
  function ownSlot(r: AlertRule, place: number, e: LiveEntry, j: number): number {
    const s = j >= 0 ? e.slots[j] : undefined;
    return putSlot(e, place, j, s ? { w: s.w.copy(), a: s.a, d: s.d } : { w: freshWin(r), a: undefined, d: undefined });
  }

  /** Sets the slot of the rule at `place` in an entry copy: at j (where slotAt found it), or at the end when j is -1; returns where it is. */
  function putSlot(e: LiveEntry, place: number, j: number, slot: Slot): number {
    if (j >= 0) {
      if (!e.slots[j]) e.holes--;
      e.slots[j] = slot;
      return j;
    }
    return e.addSlot(place, slot);
  }

  /** Writes a changed entry back (or lets the key go when no rule has state left) and sets its one timer. */
  function finish(ctx: TaskContext, g: RuleGroup, id: string, e: LiveEntry): void {
    let next: number | undefined;
    let any = false;
    for (let j = 0; j < e.slots.length; j++) {
      const s = e.slots[j];
      if (!s) continue;
      any = true;
      if (s.d !== undefined && (next === undefined || s.d < next)) next = s.d;
    }
    const store = ctx.store<GroupEntry>(g.store);
    if (any) store.put(id, e);
    else store.delete(id);
    const timerId = `${g.store}${SEP}${id}`;
    if (next !== undefined) ctx.setTimer(timerId, next);
    else ctx.cancelTimer(timerId);
  }

  /** One relevant event into one rule's slot of the key; false when it changed nothing (a `then` with no open `first`). */
  function observe(r: AlertRule, place: number, cond: Condition, what: Relevance, e: LiveEntry, ctx: RecordContext, corr: string | undefined): boolean {
    const now = ctx.eventTime;
    const at = slotAt(e, place);
    const existing = at >= 0 ? e.slots[at]?.w : undefined;
    if (r.kind === 'sequence') {
      const isFirst = what === 'first' || what === 'both';
      const isThen = what === 'then' || what === 'both';
      // Decided before the slot is copied: a `then` with nothing open changes nothing.
      if (!isFirst && !(isThen && existing !== undefined && existing.sh > existing.sl)) return false;
      if (!isFirst && !r.absent && !openStart(existing!, now - r.withinMs, now)) return false;
    }
    // The event works on scratchSlot (see there); the slot kept is made at the end.
    const stored = at >= 0 ? e.slots[at] : undefined;
    const w = stored !== undefined ? scratchWin.set(stored.w) : clearWin(scratchWin, r);
    const s = scratchSlot;
    s.a = stored?.a;
    s.d = stored?.d;
    const j = putSlot(e, place, at, s);
    switch (r.kind) {
      case 'threshold':
      case 'deprecated_schema':
        insertAt(w, now);
        break;
      case 'ratio':
        insertAt(w, now, what === 'hit');
        break;
      case 'absence':
        // [now] and no correlation ids: both lists emptied (their views closed where they are) and now appended.
        w.tl = w.th;
        if (w.hb !== undefined) w.hl = w.hh;
        w.cl = w.ch;
        w.pushT(now, undefined, shared);
        break;
      case 'sequence': {
        const isFirst = what === 'first' || what === 'both';
        const isThen = what === 'then' || what === 'both';
        if (isThen && existing !== undefined && existing.sh > existing.sl) {
          const open = openStart(existing, now - r.withinMs, now);
          if (r.absent) w.sl = w.sh;
          else if (open) {
            w.sl = w.sh;
            insertAt(w, now);
          }
        }
        if (isFirst) {
          w.pushS(now);
          if (w.sh - w.sl > MAX_WINDOW_EVENTS) w.sl++;
        }
        break;
      }
    }
    if (corr !== undefined) w.pushC(corr, MAX_CAUSES, shared);
    const tp = eventTraceparent();
    if (tp) w.tp = tp;
    if (!evaluate(ctx, r, cond, e.k, s, now)) {
      drop(e, j);
      return true;
    }
    e.slots[j] = keepSlot(keepWin(w, stored?.w), s.a, s.d, stored);
    s.a = undefined;
    return true;
  }

  /** The key of the event in a group (the JSON list of its `by` values), or undefined when a field is missing. */
  function keyOf(g: RuleGroup, event: Record<string, unknown>): { id: string; values: Record<string, string> } | undefined {
    const values: Record<string, string> = {};
    const list: string[] = [];
    for (let i = 0; i < g.paths.length; i++) {
      const v = fieldOf(event, g.paths[i]!);
      if (v === undefined) return undefined;
      values[g.by[i]!] = v;
      list.push(v);
    }
    return { id: JSON.stringify(list), values };
  }

  /** Evaluates the group's rules whose deadline the timer reached, at that deadline. */
  function due(ctx: TaskContext, g: RuleGroup, id: string, at: number, only?: AlertRule): void {
    const stored = readEntry(ctx.store(g.store).get(id));
    if (!stored) return;
    const e = copyEntry(g, stored);
    let places: number[];
    if (only) places = [g.index.get(only.name)!];
    else {
      // The due slots, evaluated in the group's rule order (the order their transitions are emitted in).
      places = [];
      for (let j = 0; j < e.slots.length; j++) {
        const d = e.slots[j]?.d;
        if (d !== undefined && d <= at) places.push(e.ids[j]!);
      }
      places.sort((x, y) => x - y);
    }
    for (const place of places) {
      const r = g.rules[place]!;
      const j = slotAt(e, place);
      const s = j >= 0 ? e.slots[j] : undefined;
      if (!s) continue;
      ownSlot(r, place, e, j);
      if (!evaluate(ctx, r, g.conds[place]!, e.k, e.slots[j]!, only ? at : s.d!)) drop(e, j);
    }
    finish(ctx, g, id, e);
  }

  /**
   * Moves state of the layout before rule groups (stores `w:<rule>` and `a:<rule>`, a timer `<rule>\u001f<key>` per
   * rule and key) into the groups, once per partition, in the transaction of its first record or timer: a processor
   * upgraded over an old changelog keeps its windows, alerts and deadlines. The format mark is written with it, so an
   * aborted transaction leaves both as they were and the next one migrates again.
   */
  function migrate(ctx: TaskContext): void {
    const meta = ctx.store<number>(META_STORE);
    if (meta.get('format') === FORMAT) return;
    const touched = new Map<RuleGroup, Map<string, LiveEntry>>();
    for (const r of rules) {
      const wins = ctx.store<PlainWin & { key?: Record<string, string> }>(`w:${r.name}`);
      if (wins.size === 0) continue;
      const alerts = ctx.store<PlainAlert & { key?: Record<string, string> }>(`a:${r.name}`);
      const g = groupOf.get(r)!;
      let entries = touched.get(g);
      if (!entries) touched.set(g, (entries = new Map()));
      for (const id of [...wins.keys()]) {
        const { key, ...w } = wins.get(id)!;
        const stored = alerts.get(id);
        let a: Alert | undefined;
        if (stored) {
          const { key: _k, ...rest } = stored;
          a = alertOf(rest);
        }
        const timerId = `${r.name}${SEP}${id}`;
        const d = ctx.timer(timerId);
        let e = entries.get(id);
        if (!e) {
          const current = readEntry(ctx.store(g.store).get(id));
          e = current ? copyEntry(g, current) : entryOf(g, key ?? {}, [], []);
          entries.set(id, e);
        }
        const place = g.index.get(r.name)!;
        putSlot(e, place, slotAt(e, place), { w: winOf(w), a, d });
        wins.delete(id);
        alerts.delete(id);
        ctx.cancelTimer(timerId);
      }
    }
    for (const [g, entries] of touched) for (const [id, e] of entries) finish(ctx, g, id, e);
    meta.put('format', FORMAT);
  }

  /** The traceparent of the span processing the current event: read once per event, when a rule first needs it. */
  let traceparentOfEvent: string | undefined | null = null;
  const eventTraceparent = (): string | undefined => {
    if (traceparentOfEvent === null) {
      const traced = activeSpanContext();
      traceparentOfEvent = traced ? formatTraceparent(traced) : undefined;
    }
    return traceparentOfEvent;
  };

  return {
    name: o.name ?? 'alerts',
    stores: Object.fromEntries([...groups.keys()].map((store) => [store, { maxKeys }])),
    process(event: AnyOnexEvent, ctx: RecordContext) {
      migrate(ctx);
      const ev = event as unknown as Record<string, unknown>;
      eventNo++;
      traceparentOfEvent = null;
      keptN.w = keptN.a = keptN.s = 0;
      shared.tb = undefined;
      shared.hb = undefined;
      shared.cb = undefined;
      const corr = typeof ev.correlation_id === 'string' ? ev.correlation_id : undefined;
      for (const plan of prefilter ? plansFor(ev.event_type) : allRules) {
        let key: { id: string; values: Record<string, string> } | undefined | null = null;
        let e: LiveEntry | undefined;
        let changed = false;
        const { rules: list, places, relevant } = plan;
        for (let i = 0; i < list.length; i++) {
          const r = list[i]!;
          if (enabled !== undefined && !enabled(r.name)) continue;
          const what = relevant[i]!(ev, ctx);
          if (what === false) continue;
          if (key === null) {
            key = keyOf(plan.g, ev);
            if (key === undefined) break;
            const stored = readEntry(ctx.store(plan.g.store).get(key.id));
            e = stored ? copyEntry(plan.g, stored) : entryOf(plan.g, key.values, [], []);
          }
          if (observe(r, places[i]!, plan.g.conds[places[i]!]!, what, e!, ctx, corr)) changed = true;
        }
        if (changed) finish(ctx, plan.g, key!.id, e!);
      }
    },
    onTimer(id: string, at: number, ctx: TaskContext) {
      migrate(ctx);
      const sep = id.indexOf(SEP);
      const head = id.slice(0, sep);
      const g = groups.get(head);
      if (g) return due(ctx, g, id.slice(sep + 1), at);
      // A rule's own timer from the layout before groups that fired before this partition's first migrate (fireDue runs
      // ahead of process): its state is in the group now, so the rule is evaluated there at the timer's time.
      const r = byName.get(head);
      if (r) due(ctx, groupOf.get(r)!, id.slice(sep + 1), at, r);
    },
  };
}
