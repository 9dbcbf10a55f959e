/**
 * Where an OnexProducer acknowledgement's time goes, per event, for bench/producer-latency.ts (BENCH_STAGES=1):
 *
 *   offered -> accepted   emit() up to Batcher.add: validation, encoding, headers (synchronous, so this is also the
 *                         wait behind the events offered before it in the same tick)
 *   accepted -> sealed    the batch's linger (or until it is full)
 *   sealed -> send start  waiting for the send in flight (Batcher.take hands the batch to the sender)
 *   send start -> acked   the kafkajs send() and the sender's bookkeeping, up to the record's settle()
 *
 * It wraps Batcher's methods on the prototype (the bench's own process only), so the producer runs unchanged; the
 * offered instant comes from `offering(at)`, called just before the synchronous emit() of that event.
 */
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { Batcher, type PendingRecord } from '../src/producer/batcher.js';

export type StageName = 'offered->accepted' | 'accepted->sealed' | 'sealed->send' | 'send->acked';
export const STAGES: readonly StageName[] = ['offered->accepted', 'accepted->sealed', 'sealed->send', 'send->acked'];

interface Stamps {
  offered: number;
  accepted: number;
  sealed: number;
  sent: number;
}

const STAMPS = Symbol('ack-stages');
type Stamped = PendingRecord & { [STAMPS]?: Stamps };

let offeredAt = 0;
let rows: number[][] = [];
let installed = false;

/** The instant the next emit() was offered (set before calling it). */
export function offering(at: number): void {
  offeredAt = at;
}

/** Starts a new collection; returns the rows collected since the last call ([4 stage ms..., total ms] per event). */
export function takeRows(): number[][] {
  const out = rows;
  rows = [];
  return out;
}

/** Wraps Batcher.add / seal / take and each record's settle() once per process. */
export function installStages(): void {
  if (installed) return;
  installed = true;
  const proto = Batcher.prototype as unknown as {
    add(record: Stamped, lane: unknown): void;
    seal(batch: { records: Stamped[] }): void;
    take(): { records: Stamped[] } | undefined;
  };
  const add = proto.add;
  const seal = proto.seal;
  const take = proto.take;
  const settlePatched = new WeakSet<object>();
  proto.add = function (this: unknown, record, lane) {
    record[STAMPS] = { offered: offeredAt, accepted: performance.now(), sealed: 0, sent: 0 };
    const owner = Object.getPrototypeOf(record) as { settle(this: Stamped, e: unknown): void };
    if (!settlePatched.has(owner)) {
      settlePatched.add(owner);
      const settle = owner.settle;
      owner.settle = function (this: Stamped, e: unknown) {
        const s = this[STAMPS];
        if (s && e === undefined) {
          const now = performance.now();
          rows.push([s.accepted - s.offered, s.sealed - s.accepted, s.sent - s.sealed, now - s.sent, now - s.offered]);
        }
        settle.call(this, e);
      };
    }
    add.call(this, record, lane);
  };
  proto.seal = function (this: unknown, batch) {
    const now = performance.now();
    for (const r of batch.records) if (r[STAMPS] && r[STAMPS].sealed === 0) r[STAMPS].sealed = now;
    seal.call(this, batch);
  };
  proto.take = function (this: unknown) {
    const b = take.call(this);
    const now = performance.now();
    if (b) for (const r of b.records) if (r[STAMPS] && r[STAMPS].sent === 0) r[STAMPS].sent = now;
    return b;
  };
}

export interface GcFigures {
  count: number;
  totalMs: number;
  maxMs: number;
  /** Mark-compact (full) collections: how many, and their pauses' sum. */
  major: number;
  majorMs: number;
}

/** GC pauses of this process from construction to stop(): count, total and longest pause (ms), full GCs apart. */
export class GcWatch {
  private readonly observer: PerformanceObserver;
  private readonly figures: GcFigures = { count: 0, totalMs: 0, maxMs: 0, major: 0, majorMs: 0 };
  constructor() {
    const f = this.figures;
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        f.count++;
        f.totalMs += e.duration;
        if (e.duration > f.maxMs) f.maxMs = e.duration;
        if (((e as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
          f.major++;
          f.majorMs += e.duration;
        }
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }
  stop(): GcFigures {
    this.observer.disconnect();
    return { ...this.figures };
  }
}
