/**
 * The state of one key of a rule group (the rules that share `by` fields), and its compact changelog form.
 *
 * In memory an entry holds, per rule with state for the key, the rule's window, its alert and its next deadline, as
 * plain arrays the engine reads fast. On the changelog the same entry is much shorter: the rules of a group see
 * mostly the same events, so their windows repeat the same event times and correlation ids many times over, and an
 * alert repeats its window's correlation ids. The compact form (CompactEntry) keeps each correlation id once, writes
 * every list of numbers once (times as differences from the one before, so a window is a short string), and lets the
 * slots point at them. A live entry (a LiveEntry, what the engine writes) turns itself into that form when the
 * changelog serialises it (toJSON); readEntry turns a restored one back. Entries written before the compact form (a
 * plain {k, r}) still restore as they are.
 */

export interface Alert {
  state: 'pending' | 'firing';
  activeAt: number;
  /** When the condition turned false while firing (keep_firing_for runs from here). */
  falseSince?: number | undefined;
  count: number;
  value: number;
  /** Correlation ids of the events that caused it; may be the window's own list (lists are never changed in place once stored). */
  corr: string[];
  /** The traceparent of the latest event's processing span (see AlertTransition.traceparent). */
  tp?: string | undefined;
}

/** Window state of one rule and key; which fields are used depends on the kind. */
export interface Win {
  /** threshold / deprecated_schema: matching times; ratio: `of` times; sequence: match times; absence: [last]. */
  t: number[];
  /** ratio: whether each `of` event also matched. */
  hit?: boolean[] | undefined;
  /** sequence: pending `first` times. */
  starts?: number[] | undefined;
  corr: string[];
  /** The traceparent of the latest matching event's processing span, when traced. */
  tp?: string | undefined;
}

/** One rule's state for one key: its window, its alert (if any) and the time of its next deadline (if any). */
export interface Slot {
  w: Win;
  a?: Alert | undefined;
  d?: number | undefined;
}

/** One key of a rule group: the group-by values once, and a slot per rule of the group that has state for the key. */
export interface GroupEntry {
  k: Record<string, string>;
  r: Record<string, Slot | undefined>;
}

/** The compact form's version mark (format 2 of the engine's layout wrote entries as plain GroupEntry JSON). */
const COMPACT = 3;

/** A list reference: an index into `x`, or -1 for a list that is absent. */
type Ref = number;
/** [alert state (0 pending, 1 firing), activeAt, falseSince or null, count, value, corr list, traceparent or null]. */
type AlertCode = [0 | 1, number, number | null, number, number, Ref, string | null];
/** [times, hits, starts, corr list, deadline or null, alert or null, traceparent or null]. */
type SlotCode = [Ref, Ref, Ref, Ref, number | null, AlertCode | null, string | null];

export interface CompactEntry {
  f: typeof COMPACT;
  k: Record<string, string>;
  /** Base time: every time in the entry is written relative to it. */
  b: number;
  /** Correlation ids, each once; corr lists hold their indices. */
  c: string[];
  /** Lists of integers, each once: comma-separated, every element the difference from the one before (the first from 0). */
  x: string[];
  r: Record<string, SlotCode>;
}

/** What the engine stores: an entry that writes itself to the changelog in the compact form. */
export class LiveEntry implements GroupEntry {
  constructor(
    readonly k: Record<string, string>,
    readonly r: Record<string, Slot | undefined>,
  ) {}

  toJSON(): CompactEntry {
    return encodeEntry(this);
  }
}

class Encoder {
  readonly c: string[] = [];
  readonly x: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly lists = new Map<string, number>();
  /** The same array (a window's corr list shared by its alert) encoded once. */
  private readonly seen = new Map<unknown[], Ref>();

  constructor(readonly b: number) {}

  private list(text: string): Ref {
    let i = this.lists.get(text);
    if (i === undefined) {
      i = this.x.length;
      this.x.push(text);
      this.lists.set(text, i);
    }
    return i;
  }

  times(ts: number[] | undefined): Ref {
    if (ts === undefined) return -1;
    let r = this.seen.get(ts);
    if (r !== undefined) return r;
    let text = '';
    let prev = this.b;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      text += i === 0 ? String(t - prev) : `,${t - prev}`;
      prev = t;
    }
    r = this.list(text);
    this.seen.set(ts, r);
    return r;
  }

  hits(hs: boolean[] | undefined): Ref {
    if (hs === undefined) return -1;
    let text = '';
    let prev = 0;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i] ? 1 : 0;
      text += i === 0 ? String(h) : `,${h - prev}`;
      prev = h;
    }
    return this.list(text);
  }

  corr(ids: string[]): Ref {
    let r = this.seen.get(ids);
    if (r !== undefined) return r;
    let text = '';
    let prev = 0;
    for (let i = 0; i < ids.length; i++) {
      let n = this.ids.get(ids[i]!);
      if (n === undefined) {
        n = this.c.length;
        this.c.push(ids[i]!);
        this.ids.set(ids[i]!, n);
      }
      text += i === 0 ? String(n) : `,${n - prev}`;
      prev = n;
    }
    r = this.list(text);
    this.seen.set(ids, r);
    return r;
  }
}

/** A time relative to the base, or null. */
const rel = (t: number | undefined, b: number): number | null => (t === undefined ? null : t - b);

function baseOf(e: GroupEntry): number {
  for (const name in e.r) {
    const s = e.r[name];
    if (!s) continue;
    if (s.w.t.length > 0) return s.w.t[0]!;
    if (s.w.starts?.length) return s.w.starts[0]!;
    if (s.d !== undefined) return s.d;
    if (s.a) return s.a.activeAt;
  }
  return 0;
}

export function encodeEntry(e: GroupEntry): CompactEntry {
  const en = new Encoder(baseOf(e));
  const b = en.b;
  const r: Record<string, SlotCode> = {};
  for (const name in e.r) {
    const s = e.r[name];
    if (!s) continue;
    const w = s.w;
    const a = s.a;
    const alert: AlertCode | null = a
      ? [a.state === 'firing' ? 1 : 0, a.activeAt - b, rel(a.falseSince, b), a.count, a.value, en.corr(a.corr), a.tp ?? null]
      : null;
    r[name] = [en.times(w.t), en.hits(w.hit), en.times(w.starts), en.corr(w.corr), rel(s.d, b), alert, w.tp ?? null];
  }
  return { f: COMPACT, k: e.k, b, c: en.c, x: en.x, r };
}

function ints(text: string | undefined, start: number): number[] {
  if (text === undefined) throw new Error('a list reference is outside the entry');
  if (text === '') return [];
  const parts = text.split(',');
  const out = new Array<number>(parts.length);
  let v = start;
  for (let i = 0; i < parts.length; i++) {
    const d = Number(parts[i]);
    if (!Number.isFinite(d)) throw new Error(`"${parts[i]}" in a list is not a number`);
    v = i === 0 ? start + d : v + d;
    out[i] = v;
  }
  return out;
}

export function decodeEntry(c: CompactEntry): LiveEntry {
  const { b, x } = c;
  const corr = (ref: Ref): string[] =>
    ints(x[ref], 0).map((n) => {
      const id = c.c[n];
      if (id === undefined) throw new Error('a correlation id reference is outside the entry');
      return id;
    });
  const r: Record<string, Slot | undefined> = {};
  for (const name of Object.keys(c.r)) {
    const [t, hit, starts, wc, d, alert, tp] = c.r[name]!;
    // Every field, in the engine's order (see freshWin in engine.ts): one shape for all windows, alerts and slots.
    const w: Win = {
      t: ints(x[t], b),
      hit: hit >= 0 ? ints(x[hit], 0).map((h) => h === 1) : undefined,
      starts: starts >= 0 ? ints(x[starts], b) : undefined,
      corr: corr(wc),
      tp: tp ?? undefined,
    };
    let a: Alert | undefined;
    if (alert) {
      const [state, activeAt, falseSince, count, value, ac, atp] = alert;
      a = { state: state === 1 ? 'firing' : 'pending', activeAt: activeAt + b, falseSince: falseSince === null ? undefined : falseSince + b, count, value, corr: corr(ac), tp: atp ?? undefined };
    }
    r[name] = { w, a, d: d === null ? undefined : d + b };
  }
  return new LiveEntry(c.k, r);
}

/** Restored entries, decoded once each (until the engine writes a live one over them). */
const decoded = new WeakMap<object, GroupEntry>();

/** A stored entry as the engine reads it: live as it is, a restored compact one decoded, one from before the compact form as it is. */
export function readEntry(v: unknown): GroupEntry | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof LiveEntry) return v;
  const o = v as Partial<CompactEntry> & Partial<GroupEntry>;
  if (o.f !== COMPACT) return o as GroupEntry;
  let e = decoded.get(o);
  if (!e) decoded.set(o, (e = decodeEntry(o as CompactEntry)));
  return e;
}
