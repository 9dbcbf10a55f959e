import { TimerQueue } from './timer-queue.js';
import type { KeyedStore, StoreOptions } from './types.js';

/**
 * The state of one input partition: named keyed stores, the timers, and the event-time clock (its watermark). It
 * knows nothing of Kafka: the Kafka task (task.ts) and the brokerless runner (local-runner.ts) drive the same object,
 * so `onex alerts test` runs exactly the code a deployed processor runs.
 *
 * Every change is logged twice: in an undo log, so a failed record or an aborted transaction puts memory back as it
 * was, and in a dirty set, which becomes the changelog records of the batch's transaction (the last value of a key
 * only). Timers and the clock are kept in two internal stores, so they reach the changelog and come back on restore
 * like any state.
 */

/** A stored value and the stream time it was written at (the TTL counts from there). */
export interface Entry {
  v: unknown;
  t: number;
}

/** One key's new state for the changelog: undefined is a deletion (a tombstone). */
export interface StateChange {
  store: string;
  key: string;
  entry: Entry | undefined;
}

export type EvictionReason = 'lru' | 'ttl';

interface Undo {
  store: MemoryStore;
  key: string;
  prev: Entry | undefined;
}

export const TIMER_STORE = '__timers';
export const CLOCK_STORE = '__clock';
const CLOCK_KEY = 'max_event_time';

class MemoryStore implements KeyedStore {
  readonly map = new Map<string, Entry>();

  constructor(
    readonly name: string,
    private readonly state: PartitionState,
    private readonly bounds: StoreOptions,
    private readonly onChange?: (key: string, entry: Entry | undefined) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  get(key: string): unknown {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    const ttl = this.bounds.ttlMs;
    if (ttl !== undefined && e.t + ttl <= this.state.watermark) {
      this.remove(key, 'ttl');
      return undefined;
    }
    return e.v;
  }

  put(key: string, value: unknown): void {
    const prev = this.map.get(key);
    this.state.logChange(this, key, prev);
    // Delete first: a Map keeps insertion order, so the first key is always the least recently written one.
    if (prev !== undefined) this.map.delete(key);
    const entry = { v: value, t: this.state.streamTime };
    this.map.set(key, entry);
    this.onChange?.(key, entry);
    const max = this.bounds.maxKeys;
    if (max !== undefined && this.map.size > max) this.remove(this.map.keys().next().value as string, 'lru');
  }

  delete(key: string): void {
    const prev = this.map.get(key);
    if (prev === undefined) return;
    this.state.logChange(this, key, prev);
    this.map.delete(key);
    this.onChange?.(key, undefined);
  }

  /** Expires keys written more than ttlMs behind the watermark, oldest first (they lead the Map). */
  sweep(): void {
    const ttl = this.bounds.ttlMs;
    if (ttl === undefined) return;
    for (const [key, e] of this.map) {
      if (e.t + ttl > this.state.watermark) break;
      this.remove(key, 'ttl');
    }
  }

  /** Sets a key without logging it: restore and rollback. */
  raw(key: string, entry: Entry | undefined): void {
    if (entry === undefined) this.map.delete(key);
    else this.map.set(key, entry);
    this.onChange?.(key, entry);
  }

  private remove(key: string, reason: EvictionReason): void {
    this.delete(key);
    this.state.onEvict(this.name, reason);
  }
}

export interface PartitionStateOptions {
  allowedLatenessMs: number;
  stores?: Record<string, StoreOptions>;
  onEvict?: (store: string, reason: EvictionReason) => void;
}

export class PartitionState {
  /** The largest event time seen (or ticked to); the watermark trails it by the allowed lateness. */
  streamTime = -Infinity;
  readonly timers = new TimerQueue();
  private readonly stores = new Map<string, MemoryStore>();
  private undo: Undo[] = [];
  private readonly dirty = new Map<MemoryStore, Set<string>>();
  private readonly timerStore: MemoryStore;
  private readonly clockStore: MemoryStore;

  constructor(private readonly o: PartitionStateOptions) {
    this.timerStore = this.storeOf(TIMER_STORE, (id, e) => (e === undefined ? this.timers.delete(id) : this.timers.set(id, e.v as number)));
    this.clockStore = this.storeOf(CLOCK_STORE, (_k, e) => (this.streamTime = e === undefined ? -Infinity : (e.v as number)));
  }

  get watermark(): number {
    return this.streamTime - this.o.allowedLatenessMs;
  }

  store<V>(name: string): KeyedStore<V> {
    return (this.stores.get(name) ?? this.storeOf(name)) as KeyedStore<V>;
  }

  /** Keys held in the processor's own stores (the timers and the clock are not counted). */
  entries(): number {
    let n = 0;
    for (const s of this.stores.values()) if (s !== this.timerStore && s !== this.clockStore) n += s.size;
    return n;
  }

  /** Moves the clock forward to `time` (never back); false when `time` is behind the watermark (a late event). */
  observe(time: number): boolean {
    if (time > this.streamTime) this.clockStore.put(CLOCK_KEY, time);
    return time >= this.watermark;
  }

  /** Moves the clock so the watermark is at least `watermark` (the processing-time tick). */
  advanceWatermark(watermark: number): void {
    this.observe(watermark + this.o.allowedLatenessMs);
  }

  setTimer(id: string, at: number): void {
    if (this.timers.get(id) !== at) this.timerStore.put(id, at);
  }

  cancelTimer(id: string): void {
    this.timerStore.delete(id);
  }

  /** Removes and returns the next timer the watermark passed (persisted as a deletion), or undefined. */
  nextDueTimer(): { id: string; at: number } | undefined {
    const slot = this.timers.popDue(this.watermark);
    if (slot === undefined) return undefined;
    // popDue dropped it from the queue; the store deletion logs it (its undo puts it back in the queue).
    this.timers.set(slot.id, slot.at);
    this.timerStore.delete(slot.id);
    return slot;
  }

  sweep(): void {
    for (const s of this.stores.values()) s.sweep();
  }

  /** The position to roll back to when one record fails. */
  mark(): number {
    return this.undo.length;
  }

  rollbackTo(mark: number): void {
    while (this.undo.length > mark) {
      const u = this.undo.pop()!;
      u.store.raw(u.key, u.prev);
    }
  }

  /** Undoes everything since the last settle() (the transaction was aborted). */
  rollback(): void {
    this.rollbackTo(0);
    this.dirty.clear();
  }

  /** True when something changed since the last settle(). */
  changed(): boolean {
    return this.dirty.size > 0;
  }

  /** The changes of the open batch, one per key with its latest value: the changelog records of its transaction. */
  pendingChanges(): StateChange[] {
    const out: StateChange[] = [];
    for (const [store, keys] of this.dirty) for (const key of keys) out.push({ store: store.name, key, entry: store.map.get(key) });
    return out;
  }

  /** The batch committed: its changes are on the changelog and can no longer be undone. */
  settle(): void {
    this.dirty.clear();
    this.undo = [];
  }

  /** Applies one changelog record (restore). */
  apply(change: StateChange): void {
    (this.stores.get(change.store) ?? this.storeOf(change.store)).raw(change.key, change.entry);
  }

  /** Called by a store on each logged change. */
  logChange(store: MemoryStore, key: string, prev: Entry | undefined): void {
    this.undo.push({ store, key, prev });
    let keys = this.dirty.get(store);
    if (!keys) this.dirty.set(store, (keys = new Set()));
    keys.add(key);
  }

  onEvict(store: string, reason: EvictionReason): void {
    this.o.onEvict?.(store, reason);
  }

  private storeOf(name: string, onChange?: (key: string, entry: Entry | undefined) => void): MemoryStore {
    const s = new MemoryStore(name, this, this.o.stores?.[name] ?? {}, onChange);
    this.stores.set(name, s);
    return s;
  }
}
