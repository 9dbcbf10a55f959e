/**
 * The state of one key of a rule group (the rules that share `by` fields), and its compact changelog form.
 *
 * In memory an entry holds, per rule with state for the key, the rule's window, its alert and its next deadline, as
 * plain arrays the engine reads fast. On the changelog the same entry is much shorter: the rules of a group see
 * mostly the same events, so their windows repeat the same event times and correlation ids many times over, and an
 * alert repeats its window's correlation ids, and rules of one kind fed by the same events hold the very same slot.
 * The compact form (CompactEntry) keeps each correlation id once, writes every list of numbers once (times as
 * differences from the one before, so a window is a short string), and every distinct slot once, which the rules'
 * names point at. A live entry (a LiveEntry, what the engine writes) turns itself into that form when the
 * changelog serialises it (toJSON); readEntry turns a restored one back. Entries of the earlier forms (format 3, a
 * slot per rule name; before it a plain {k, r}) still restore as they are.
 */

/**
 * A window's and an alert's lists are views [lo, hi) of append-only arrays. Nothing is ever changed in place in an
 * array below its length, so versions of a window (the one the undo log keeps, the one an event makes from it) share
 * one array: a new event appends to it instead of copying the window, and the older version still reads only its
 * [lo, hi). Dropping the oldest is lo + 1. Two views diverge only when one appends where the array already goes on
 * with another value (then it takes a copy of its own range); rules fed by the same events of a key append the same
 * value at the same place, so they go on sharing one array (and the changelog encodes it once).
 */

/** Arrays whose dropped head is at least this long, and longer than the live part, are copied on the next append. */
const COMPACT_AT = 64;

/** The array to append `v` to the view [lo, hi) of `b` on: b itself, or a copy of [lo, hi) when b goes on otherwise. */
function onto<T>(b: T[], lo: number, hi: number, v: T): T[] {
  if (hi === b.length) {
    if (lo < COMPACT_AT || lo * 2 <= hi) {
      b.push(v);
      return b;
    }
  } else if (b[hi] === v) return b;
  const c = b.slice(lo, hi);
  c.push(v);
  return c;
}

/** The array after a view [lo, hi) of `b` with `v` inserted at `at` (a late event): always a new one. */
function inserted<T>(b: T[], lo: number, hi: number, at: number, v: T): T[] {
  const c = b.slice(lo, at);
  c.push(v);
  for (let i = at; i < hi; i++) c.push(b[i]!);
  return c;
}

export class Alert {
  constructor(
    public state: 'pending' | 'firing',
    public activeAt: number,
    /** When the condition turned false while firing (keep_firing_for runs from here). */
    public falseSince: number | undefined,
    public count: number,
    public value: number,
    /** Correlation ids of the events that caused it: a view [cl, ch) of cb, usually its window's. */
    public cb: string[],
    public cl: number,
    public ch: number,
    /** The traceparent of the latest event's processing span (see AlertTransition.traceparent). */
    public tp: string | undefined,
  ) {}

  copy(): Alert {
    return new Alert(this.state, this.activeAt, this.falseSince, this.count, this.value, this.cb, this.cl, this.ch, this.tp);
  }

  /** Takes o's fields (a scratch alert loaded with a stored one); returns this. */
  set(o: Alert): this {
    this.state = o.state;
    this.activeAt = o.activeAt;
    this.falseSince = o.falseSince;
    this.count = o.count;
    this.value = o.value;
    this.cb = o.cb;
    this.cl = o.cl;
    this.ch = o.ch;
    this.tp = o.tp;
    return this;
  }

  same(o: Alert): boolean {
    return this.state === o.state && this.activeAt === o.activeAt && this.falseSince === o.falseSince && this.count === o.count &&
      this.value === o.value && this.cb === o.cb && this.cl === o.cl && this.ch === o.ch && this.tp === o.tp;
  }

  corr(): string[] {
    return this.cb.slice(this.cl, this.ch);
  }

  /** The plain form of the layout before the compact entry (format 2). */
  toJSON(): PlainAlert {
    return { state: this.state, activeAt: this.activeAt, falseSince: this.falseSince, count: this.count, value: this.value, corr: this.corr(), tp: this.tp };
  }
}

/**
 * Window state of one rule and key; which lists are used depends on the kind. t: threshold / deprecated_schema:
 * matching times; ratio: `of` times; sequence: match times; absence: [last]. h (ratio): whether each `of` event also
 * matched, parallel to t. s (sequence): pending `first` times. c: correlation ids. Each list is a view (see above).
 */
export class Win {
  constructor(
    public tb: number[],
    public tl: number,
    public th: number,
    public hb: boolean[] | undefined,
    public hl: number,
    public hh: number,
    public sb: number[] | undefined,
    public sl: number,
    public sh: number,
    public cb: string[],
    public cl: number,
    public ch: number,
    /** The traceparent of the latest matching event's processing span, when traced. */
    public tp: string | undefined,
  ) {}

  copy(): Win {
    return new Win(this.tb, this.tl, this.th, this.hb, this.hl, this.hh, this.sb, this.sl, this.sh, this.cb, this.cl, this.ch, this.tp);
  }

  /** Takes o's views (a scratch window loaded with a stored one); returns this. */
  set(o: Win): this {
    this.tb = o.tb;
    this.tl = o.tl;
    this.th = o.th;
    this.hb = o.hb;
    this.hl = o.hl;
    this.hh = o.hh;
    this.sb = o.sb;
    this.sl = o.sl;
    this.sh = o.sh;
    this.cb = o.cb;
    this.cl = o.cl;
    this.ch = o.ch;
    this.tp = o.tp;
    return this;
  }

  /** Whether the two hold the same views (and traceparent). */
  same(o: Win): boolean {
    return this.tb === o.tb && this.tl === o.tl && this.th === o.th && this.hb === o.hb && this.hl === o.hl && this.hh === o.hh &&
      this.sb === o.sb && this.sl === o.sl && this.sh === o.sh && this.cb === o.cb && this.cl === o.cl && this.ch === o.ch && this.tp === o.tp;
  }

  /** Appends a time (and for ratio its hit); `at` shares an array another window of the key wrote `t` into at that index. */
  pushT(t: number, hit: boolean | undefined, share: Shared): void {
    if (this.th === this.tl && share.tb !== undefined && share.tb[share.ti] === t) {
      this.tb = share.tb;
      this.tl = share.ti;
      this.th = share.ti + 1;
    } else {
      const b = onto(this.tb, this.tl, this.th, t);
      if (b === this.tb) this.th++;
      else {
        this.th = this.th - this.tl + 1;
        this.tl = 0;
        this.tb = b;
      }
      share.tb = this.tb;
      share.ti = this.th - 1;
    }
    if (hit === undefined) return;
    if (this.hh === this.hl && share.hb !== undefined && share.hb[share.hi] === hit) {
      this.hb = share.hb;
      this.hl = share.hi;
      this.hh = share.hi + 1;
      return;
    }
    const hb = this.hb!;
    const b = onto(hb, this.hl, this.hh, hit);
    if (b === hb) this.hh++;
    else {
      this.hh = this.hh - this.hl + 1;
      this.hl = 0;
      this.hb = b;
    }
    share.hb = this.hb;
    share.hi = this.hh - 1;
  }

  /** Inserts a time before the later ones (a late event, with late: process). */
  insertT(at: number, t: number, hit: boolean | undefined): void {
    const n = this.th - this.tl;
    this.tb = inserted(this.tb, this.tl, this.th, this.tl + at, t);
    this.tl = 0;
    this.th = n + 1;
    if (hit === undefined) return;
    this.hb = inserted(this.hb!, this.hl, this.hh, this.hl + at, hit);
    this.hl = 0;
    this.hh = n + 1;
  }

  /** Drops the n oldest times (and their hits). */
  dropT(n: number): void {
    this.tl += n;
    if (this.hb !== undefined) this.hl += n;
  }

  pushS(t: number): void {
    const b = onto(this.sb!, this.sl, this.sh, t);
    if (b === this.sb) this.sh++;
    else {
      this.sh = this.sh - this.sl + 1;
      this.sl = 0;
      this.sb = b;
    }
  }

  /** Appends a correlation id not yet in the list; past `max` the oldest goes. */
  pushC(id: string, max: number, share: Shared): void {
    const cb = this.cb;
    for (let i = this.cl; i < this.ch; i++) if (cb[i] === id) return;
    if (this.ch === this.cl && share.cb !== undefined && share.cb[share.ci] === id) {
      this.cb = share.cb;
      this.cl = share.ci;
      this.ch = share.ci + 1;
      return;
    }
    const b = onto(cb, this.cl, this.ch, id);
    if (b === cb) this.ch++;
    else {
      this.ch = this.ch - this.cl + 1;
      this.cl = 0;
      this.cb = b;
    }
    if (this.ch - this.cl > max) this.cl++;
    share.cb = this.cb;
    share.ci = this.ch - 1;
  }

  /** The plain form of the layout before the compact entry (format 2). */
  toJSON(): PlainWin {
    return {
      t: this.tb.slice(this.tl, this.th),
      hit: this.hb?.slice(this.hl, this.hh),
      starts: this.sb?.slice(this.sl, this.sh),
      corr: this.cb.slice(this.cl, this.ch),
      tp: this.tp,
    };
  }
}

/**
 * Where the current event's time, hit and correlation id were last appended (an array and an index), so that a rule's
 * empty window fed by the same event starts on that array instead of one of its own (and the two go on sharing it).
 */
export interface Shared {
  tb: number[] | undefined;
  ti: number;
  hb: boolean[] | undefined;
  hi: number;
  cb: string[] | undefined;
  ci: number;
}

export const newShared = (): Shared => ({ tb: undefined, ti: 0, hb: undefined, hi: 0, cb: undefined, ci: 0 });

/** A window as the layouts before the compact entry wrote it (format 2's entries, format 1's `w:<rule>` stores). */
export interface PlainWin {
  t: number[];
  hit?: boolean[] | undefined;
  starts?: number[] | undefined;
  corr: string[];
  tp?: string | undefined;
}

export interface PlainAlert {
  state: 'pending' | 'firing';
  activeAt: number;
  falseSince?: number | undefined;
  count: number;
  value: number;
  corr: string[];
  tp?: string | undefined;
}

/** A window of the plain form as a live one (its arrays copied: the stored value is not appended to). */
export function winOf(p: PlainWin): Win {
  const t = p.t.slice();
  const hit = p.hit?.slice();
  const starts = p.starts?.slice();
  const corr = p.corr.slice();
  return new Win(t, 0, t.length, hit, 0, hit?.length ?? 0, starts, 0, starts?.length ?? 0, corr, 0, corr.length, p.tp ?? undefined);
}

export function alertOf(p: PlainAlert): Alert {
  const corr = p.corr.slice();
  return new Alert(p.state, p.activeAt, p.falseSince ?? undefined, p.count, p.value, corr, 0, corr.length, p.tp ?? undefined);
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

/** A live entry of slots by rule name (no group: the engine places them in its group when it copies the entry). */
export function liveOf(k: Record<string, string>, r: Record<string, Slot | undefined>): LiveEntry {
  const names: string[] = [];
  const ids: number[] = [];
  const slots: Slot[] = [];
  for (const name of Object.keys(r)) {
    const s = r[name];
    if (!s) continue;
    ids.push(names.length);
    names.push(name);
    slots.push(s);
  }
  return new LiveEntry(k, ids, slots, names);
}

/** The compact form's version mark: 4 writes each distinct slot once; 3 wrote a slot per rule name (still read). */
const COMPACT = 4;
const COMPACT_BY_NAME = 3;

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
  /** The rule names with a slot, space-separated (a rule name has no space), in the entry's slot order. */
  n: string;
  /** Per name, its slot's index in `s`. */
  i: number[];
  /** The distinct slots, each (and its alert) without its trailing nulls. */
  s: SlotCode[];
}

/** Format 3: the same, with a slot per rule name. */
interface CompactByName {
  f: typeof COMPACT_BY_NAME;
  k: Record<string, string>;
  b: number;
  c: string[];
  x: string[];
  r: Record<string, SlotCode>;
}

/** What the engine stores: an entry that writes itself to the changelog in the compact form. */
export class LiveEntry implements GroupEntry {
  /** The rule group the engine made it for (`names` is its rule names, every slot one of its rules), or undefined. */
  g: object | undefined = undefined;
  /** Slots set to undefined since it was made (a rule with nothing left to watch for the key). */
  holes = 0;
  /** Whether `ids` is another version's too (a copy shares it until it adds a slot: see addSlot). */
  idsShared = false;

  /**
   * The slots in the order they were first made (the order the changelog writes them in), each with its rule's place
   * in `names`: an array walk and a copy of two short arrays where an object keyed by rule name would be a hash lookup
   * (or a megamorphic one) per rule and event.
   */
  constructor(
    readonly k: Record<string, string>,
    public ids: number[],
    readonly slots: Array<Slot | undefined>,
    readonly names: readonly string[],
  ) {}

  /** Appends a slot of the rule at `place` in `names` (taking an `ids` of its own first if it shares one). */
  addSlot(place: number, slot: Slot): number {
    if (this.idsShared) {
      this.ids = this.ids.slice();
      this.idsShared = false;
    }
    this.ids.push(place);
    this.slots.push(slot);
    return this.slots.length - 1;
  }

  /** The slots by rule name (the plain form's `r`). */
  get r(): Record<string, Slot | undefined> {
    const r: Record<string, Slot | undefined> = {};
    for (let j = 0; j < this.slots.length; j++) {
      const s = this.slots[j];
      if (s) r[this.names[this.ids[j]!]!] = s;
    }
    return r;
  }

  toJSON(): CompactEntry {
    return encodeEntry(this);
  }
}

/** The text of a list's differences (see deltas), as last made for an array's view [lo, hi). */
interface Deltas {
  lo: number;
  hi: number;
  text: string;
}

/**
 * The last differences text made per array. An array only ever grows, so the text of a later view of it is the
 * remembered one with its first differences cut off (the view's lo moved on) and the new ones appended: an entry
 * written once per event turns only its new elements into text, not its whole windows.
 */
const deltaTexts = new WeakMap<unknown[], Deltas>();

/** The number a list element is written as: a time as it is, a hit as 1 or 0. */
const num = (v: number | boolean): number => (typeof v === 'number' ? v : v ? 1 : 0);

/** `a[lo+1]-a[lo],a[lo+2]-a[lo+1],...` up to hi - 1 (the list's text after its first element); hi > lo + 1. */
function deltas(a: number[] | boolean[], lo: number, hi: number): string {
  const c = deltaTexts.get(a);
  let text: string;
  let from: number;
  if (c !== undefined && c.lo <= lo && lo < c.hi && c.hi <= hi) {
    // Cut the differences of the elements before lo: the k-th comma ends the k-th difference.
    text = c.text;
    let at = -1;
    for (let k = lo - c.lo; k > 0 && text !== ''; k--) {
      at = text.indexOf(',', at + 1);
      if (at < 0) {
        text = '';
        at = -1;
      }
    }
    if (at >= 0) text = text.slice(at + 1);
    from = Math.max(c.hi, lo + 1);
  } else {
    text = '';
    from = lo + 1;
  }
  for (let i = from; i < hi; i++) {
    const d = num(a[i]!) - num(a[i - 1]!);
    text = text === '' ? String(d) : `${text},${d}`;
  }
  if (c === undefined) deltaTexts.set(a, { lo, hi, text });
  else {
    c.lo = lo;
    c.hi = hi;
    c.text = text;
  }
  return text;
}

/** Views, and list texts, an encoder compares in place before it keeps the rest in a Map. */
const SEEN_LINEAR = 32;

/**
 * The index of `text` in `texts`, appended if new. Few texts are compared in place (a Map would hash every new text,
 * which is most of the work here); past SEEN_LINEAR through `index`, filled from `texts` on its first use.
 */
function intern(texts: string[], index: Map<string, number>, text: string): number {
  if (texts.length < SEEN_LINEAR) {
    for (let j = 0; j < texts.length; j++) if (texts[j]!.length === text.length && texts[j] === text) return j;
    texts.push(text);
    return texts.length - 1;
  }
  if (index.size === 0) for (let j = 0; j < texts.length; j++) if (!index.has(texts[j]!)) index.set(texts[j]!, j);
  let i = index.get(text);
  if (i === undefined) {
    i = texts.length;
    texts.push(text);
    index.set(text, i);
  }
  return i;
}

/**
 * Encodes entries one at a time (one encoder reused: its maps are cleared per entry). Each list is written once: the
 * same view (array, lo, hi) is looked up first, then the same text.
 */
class Encoder {
  c: string[] = [];
  x: string[] = [];
  /** The distinct slots. */
  s: SlotCode[] = [];
  b = 0;
  private readonly ids = new Map<string, number>();
  private readonly lists = new Map<string, number>();
  /** Views already encoded: their arrays, and [lo, hi, ref] for each (compared in place: an entry has few). */
  private readonly seenA: unknown[][] = [];
  private readonly seenV: number[] = [];
  /** How many of seenA are this entry's (the arrays are overwritten, not emptied: emptying gives their storage back, and each entry would grow it again). */
  private seenN = 0;
  /** Past SEEN_LINEAR views, per array its [lo, hi, ref] triples. */
  private readonly seen = new Map<unknown[], number[]>();

  start(b: number): void {
    this.c = [];
    this.x = [];
    this.s = [];
    this.b = b;
    if (this.ids.size > 0) this.ids.clear();
    if (this.lists.size > 0) this.lists.clear();
    this.seenN = 0;
    if (this.seen.size > 0) this.seen.clear();
  }

  /** A list's index in `x`, added if new. */
  private list(text: string): Ref {
    return intern(this.x, this.lists, text);
  }

  /**
   * A slot's index in `s`, added if new. Compared field by field with the slots kept so far (an entry has a few
   * distinct ones; rules of a kind fed by the same events have equal slots), before its code is made: most slots of
   * an entry repeat one kept already, and make no arrays. `ac` is the alert's corr list.
   */
  slot(t: Ref, h: Ref, st: Ref, wc: Ref, d: number | null, a: Alert | undefined, ac: Ref, tp: string | null): number {
    const s = this.s;
    const b = this.b;
    for (let j = 0; j < s.length; j++) {
      const k = s[j]!;
      if (k[0] === t && k[1] === h && k[2] === st && k[3] === wc && k[4] === d && k[6] === tp && isAlert(k[5], a, ac, b)) return j;
    }
    const alert: AlertCode | null = a
      ? [a.state === 'firing' ? 1 : 0, a.activeAt - b, rel(a.falseSince, b), a.count, a.value, ac, a.tp ?? null]
      : null;
    s.push([t, h, st, wc, d, alert, tp]);
    return s.length - 1;
  }

  private known(a: unknown[], lo: number, hi: number): Ref {
    const as = this.seenA;
    const v = this.seenV;
    for (let i = 0; i < this.seenN; i++) if (as[i] === a && v[3 * i] === lo && v[3 * i + 1] === hi) return v[3 * i + 2]!;
    const m = this.seen.get(a);
    if (m !== undefined) for (let i = 0; i < m.length; i += 3) if (m[i] === lo && m[i + 1] === hi) return m[i + 2]!;
    return -1;
  }

  private remember(a: unknown[], lo: number, hi: number, r: Ref): Ref {
    const n = this.seenN;
    if (n < SEEN_LINEAR) {
      this.seenA[n] = a;
      const v = this.seenV;
      v[3 * n] = lo;
      v[3 * n + 1] = hi;
      v[3 * n + 2] = r;
      this.seenN = n + 1;
      return r;
    }
    const m = this.seen.get(a);
    if (m === undefined) this.seen.set(a, [lo, hi, r]);
    else m.push(lo, hi, r);
    return r;
  }

  /** A correlation id's index in `c`, added if new. */
  private idOf(id: string): number {
    return intern(this.c, this.ids, id);
  }

  times(ts: number[] | undefined, lo: number, hi: number): Ref {
    if (ts === undefined) return -1;
    const r = this.known(ts, lo, hi);
    if (r >= 0) return r;
    const text = hi === lo ? '' : hi === lo + 1 ? String(ts[lo]! - this.b) : `${ts[lo]! - this.b},${deltas(ts, lo, hi)}`;
    return this.remember(ts, lo, hi, this.list(text));
  }

  hits(hs: boolean[] | undefined, lo: number, hi: number): Ref {
    if (hs === undefined) return -1;
    const r = this.known(hs, lo, hi);
    if (r >= 0) return r;
    const first = hs[lo] ? '1' : '0';
    const text = hi === lo ? '' : hi === lo + 1 ? first : `${first},${deltas(hs, lo, hi)}`;
    return this.remember(hs, lo, hi, this.list(text));
  }

  corr(ids: string[], lo: number, hi: number): Ref {
    const r = this.known(ids, lo, hi);
    if (r >= 0) return r;
    let text = '';
    let prev = 0;
    for (let i = lo; i < hi; i++) {
      const n = this.idOf(ids[i]!);
      text += i === lo ? String(n) : `,${n - prev}`;
      prev = n;
    }
    return this.remember(ids, lo, hi, this.list(text));
  }
}

const encoder = new Encoder();

/** A time relative to the base, or null. */
const rel = (t: number | undefined, b: number): number | null => (t === undefined ? null : t - b);

/** Whether an alert code is what `a` (its corr list at `ac`) encodes to against base b. */
function isAlert(code: AlertCode | null, a: Alert | undefined, ac: Ref, b: number): boolean {
  if (a === undefined) return code === null;
  return code !== null && code[0] === (a.state === 'firing' ? 1 : 0) && code[1] === a.activeAt - b && code[2] === rel(a.falseSince, b) &&
    code[3] === a.count && code[4] === a.value && code[5] === ac && code[6] === (a.tp ?? null);
}

/**
 * The names text (`n`) last made per slot-order array. Versions of an entry share their `ids` until one adds a slot
 * (see LiveEntry.idsShared), so an entry written once per event joins its names once, not per event.
 */
const namesTexts = new WeakMap<number[], { n: number; text: string }>();

/** The rule names of an entry's slots, space-separated, in slot order. */
function namesOf(e: LiveEntry): string {
  const cached = e.holes === 0 ? namesTexts.get(e.ids) : undefined;
  if (cached !== undefined && cached.n === e.ids.length) return cached.text;
  let n = '';
  for (let j = 0; j < e.slots.length; j++) {
    if (!e.slots[j]) continue;
    const name = e.names[e.ids[j]!]!;
    n = n === '' ? name : `${n} ${name}`;
  }
  if (e.holes === 0) namesTexts.set(e.ids, { n: e.ids.length, text: n });
  return n;
}

function baseOf(e: LiveEntry): number {
  for (let j = 0; j < e.slots.length; j++) {
    const s = e.slots[j];
    if (!s) continue;
    const w = s.w;
    if (w.th > w.tl) return w.tb[w.tl]!;
    if (w.sb !== undefined && w.sh > w.sl) return w.sb[w.sl]!;
    if (s.d !== undefined) return s.d;
    if (s.a) return s.a.activeAt;
  }
  return 0;
}

export function encodeEntry(entry: GroupEntry): CompactEntry {
  const e = entry instanceof LiveEntry ? entry : liveOf(entry.k, entry.r);
  const en = encoder;
  en.start(baseOf(e));
  const b = en.b;
  const i: number[] = [];
  // Slots often hold one window object (rules fed by the same events): its references are looked up once.
  let lastW: Win | undefined;
  let t = -1;
  let h = -1;
  let st = -1;
  let wc = -1;
  for (let j = 0; j < e.slots.length; j++) {
    const s = e.slots[j];
    if (!s) continue;
    const w = s.w;
    const a = s.a;
    // The alert's list first: the order lists and ids are first met in decides their indices (as before).
    const ac = a ? en.corr(a.cb, a.cl, a.ch) : -1;
    if (w !== lastW) {
      t = en.times(w.tb, w.tl, w.th);
      h = en.hits(w.hb, w.hl, w.hh);
      st = en.times(w.sb, w.sl, w.sh);
      wc = en.corr(w.cb, w.cl, w.ch);
      lastW = w;
    }
    i.push(en.slot(t, h, st, wc, rel(s.d, b), a, ac, w.tp ?? null));
  }
  // Trailing nulls say nothing (a reader takes a missing element as null): most slots end in two or three.
  for (const code of en.s) {
    while (code.length > 4 && code[code.length - 1] === null) code.pop();
    const a = code[5];
    if (a) while (a.length > 6 && a[a.length - 1] === null) a.pop();
  }
  return { f: COMPACT, k: e.k, b, c: en.c, x: en.x, n: namesOf(e), i, s: en.s };
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

/** `decode`, remembered per list reference: each list is decoded once per entry. */
function decodedOnce<T>(decode: (ref: Ref) => T): (ref: Ref) => T {
  const lists = new Map<Ref, T>();
  return (ref) => {
    let l = lists.get(ref);
    if (l === undefined) lists.set(ref, (l = decode(ref)));
    return l;
  };
}

/** The [rule name, slot] pairs of a compact entry, in its slot order. */
function slotsOf(c: CompactEntry | CompactByName): Array<[string, SlotCode]> {
  if (c.f === COMPACT_BY_NAME) return Object.keys(c.r).map((name) => [name, c.r[name]!]);
  const names = c.n === '' ? [] : c.n.split(' ');
  if (names.length !== c.i.length) throw new Error('an entry has not one slot index per rule name');
  return names.map((name, j) => {
    const slot = c.s[c.i[j]!];
    if (slot === undefined) throw new Error('a slot reference is outside the entry');
    return [name, slot];
  });
}

export function decodeEntry(c: CompactEntry | CompactByName): LiveEntry {
  const { b, x } = c;
  // A list the entry refers to more than once is decoded once, into one array its views share (as they did live).
  const times = decodedOnce((ref) => ints(x[ref], b));
  const hits = decodedOnce((ref) => ints(x[ref], 0).map((h) => h === 1));
  const corr = decodedOnce((ref) =>
    ints(x[ref], 0).map((n) => {
      const id = c.c[n];
      if (id === undefined) throw new Error('a correlation id reference is outside the entry');
      return id;
    }),
  );
  const r: Record<string, Slot | undefined> = {};
  for (const [name, [t, hit, starts, wc, d, alert, tp]] of slotsOf(c)) {
    const tl = times(t);
    const hl = hit >= 0 ? hits(hit) : undefined;
    const sl = starts >= 0 ? times(starts) : undefined;
    const cl = corr(wc);
    const w = new Win(tl, 0, tl.length, hl, 0, hl?.length ?? 0, sl, 0, sl?.length ?? 0, cl, 0, cl.length, tp ?? undefined);
    let a: Alert | undefined;
    if (alert) {
      const [state, activeAt, falseSince, count, value, ac, atp] = alert;
      const al = corr(ac);
      a = new Alert(state === 1 ? 'firing' : 'pending', activeAt + b, falseSince === null || falseSince === undefined ? undefined : falseSince + b, count, value, al, 0, al.length, atp ?? undefined);
    }
    r[name] = { w, a, d: d === null || d === undefined ? undefined : d + b };
  }
  return liveOf(c.k, r);
}

/** An entry of the plain form (format 2: the JSON of a GroupEntry of plain windows and alerts) as a live one. */
function plainEntry(o: { k: Record<string, string>; r: Record<string, { w: PlainWin; a?: PlainAlert | null; d?: number | null } | null | undefined> }): LiveEntry {
  const r: Record<string, Slot | undefined> = {};
  for (const name of Object.keys(o.r)) {
    const s = o.r[name];
    if (!s) continue;
    r[name] = { w: winOf(s.w), a: s.a ? alertOf(s.a) : undefined, d: s.d ?? undefined };
  }
  return liveOf(o.k, r);
}

/** Restored entries, decoded once each (until the engine writes a live one over them). */
const decoded = new WeakMap<object, GroupEntry>();

/** A stored entry as the engine reads it: live as it is, a restored one (compact, or plain from before it) decoded. */
export function readEntry(v: unknown): GroupEntry | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof LiveEntry) return v;
  const o = v as { f?: number };
  let e = decoded.get(o);
  if (!e) decoded.set(o, (e = o.f === COMPACT || o.f === COMPACT_BY_NAME ? decodeEntry(o as CompactEntry | CompactByName) : plainEntry(o as never)));
  return e;
}
