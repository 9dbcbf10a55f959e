import { onexError } from '../errors/index.js';
import type { PacerOptions, ReplaySpeed, ScheduleClock } from './types.js';

/**
 * When each replayed event is due. A replay keeps the original order and the original gaps divided by the speed, on
 * an absolute schedule: event i is due at start + (t_i - t_0) / speed, measured from the one start instant, so a
 * late wake-up (a slow send, a busy event loop) delays only the event it hits and is never added to the next ones.
 * A schedule built from sleeps of (t_i - t_{i-1}) / speed would drift by the sum of every wake-up's lateness.
 *
 * Pure: the clock and the sleep are injected, so the schedule is unit-tested without waiting.
 */

export type { PacerOptions, ReplaySpeed, ScheduleClock } from './types.js';

export const realClock: ScheduleClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export const DEFAULT_PACER: Required<PacerOptions> = { earlyMs: 1 };

/** `10`, `0.5`, `max` -> the speed; anything else is ONEX_RT_407 naming --speed. */
export function parseSpeed(text: string | number): ReplaySpeed {
  if (text === 'max') return 'max';
  const n = typeof text === 'number' ? text : Number(text);
  if (typeof text === 'string' && text.trim() === '') throw onexError('ONEX_RT_407', 'invalid replay option speed: give a positive number or max');
  if (!Number.isFinite(n) || n <= 0) throw onexError('ONEX_RT_407', `invalid replay option speed: ${String(text)} is not a positive number or max`);
  return n;
}

/**
 * Offsets from the start of the replay, in ms, at which each event is due, given the events' own times (ms) in
 * replay order. An event whose time is before its predecessor's (a producer clock step) is due with it: order wins
 * over time, and the schedule never goes backwards.
 */
export function dueOffsets(eventTimesMs: readonly number[], speed: ReplaySpeed): number[] {
  if (eventTimesMs.length === 0) return [];
  if (speed === 'max') return eventTimesMs.map(() => 0);
  const t0 = eventTimesMs[0]!;
  let last = 0;
  return eventTimesMs.map((t) => {
    last = Math.max(last, (t - t0) / speed);
    return last;
  });
}

/** The duration of a replay of events spanning these times at this speed (what --dry-run prints). */
export function replayDurationMs(eventTimesMs: readonly number[], speed: ReplaySpeed): number {
  const offsets = dueOffsets(eventTimesMs, speed);
  return offsets.length === 0 ? 0 : offsets[offsets.length - 1]!;
}

/**
 * Paces a replay one event at a time, as they are read: wait(t) resolves when the event of original time t is due.
 * The first event sets the origin. lateness() is how late the last wake-up was (the schedule error bench/ reports).
 */
export class ReplayScheduler {
  private origin: { wall: number; event: number } | undefined;
  private lastDue = 0;
  private lastLateness = 0;

  private readonly earlyMs: number;

  /** options: see PacerOptions. */
  constructor(
    readonly speed: ReplaySpeed,
    private readonly clock: ScheduleClock = realClock,
    options: PacerOptions = {},
  ) {
    this.earlyMs = options.earlyMs ?? DEFAULT_PACER.earlyMs;
  }

  /** Ms after the start at which an event of this original time is due. */
  dueAt(eventTimeMs: number): number {
    this.origin ??= { wall: this.clock.now(), event: eventTimeMs };
    if (this.speed !== 'max') this.lastDue = Math.max(this.lastDue, (eventTimeMs - this.origin.event) / this.speed);
    return this.lastDue;
  }

  async wait(eventTimeMs: number): Promise<void> {
    const due = this.dueAt(eventTimeMs);
    if (this.speed === 'max') return;
    const target = this.origin!.wall + due;
    let ahead = target - this.clock.now();
    // A timer may fire a little early; sleep again for what is left rather than emit before (due - earlyMs).
    while (ahead > this.earlyMs) {
      await this.clock.sleep(ahead - this.earlyMs);
      ahead = target - this.clock.now();
    }
    this.lastLateness = -ahead;
  }

  /** How late (ms) the last event was released after its due time; negative: early (at most earlyMs). */
  lateness(): number {
    return this.lastLateness;
  }

  /** Ms since the first event, 0 before it. */
  elapsed(): number {
    return this.origin === undefined ? 0 : this.clock.now() - this.origin.wall;
  }
}
