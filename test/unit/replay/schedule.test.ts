import { describe, expect, it } from 'vitest';
import { ReplayScheduler, dueOffsets, parseSpeed, replayDurationMs, runReplay, type ScheduleClock } from '../../../src/replay/index.js';

/** A clock whose sleeps overshoot by `late` ms each: what a busy event loop does to timers. */
function lateClock(late: number): ScheduleClock & { t: number } {
  const c = { t: 0, now: () => c.t, sleep: async (ms: number) => void (c.t += ms + late) };
  return c;
}

describe('replay schedule', () => {
  it('keeps the original gaps divided by the speed', () => {
    expect(dueOffsets([1000, 1500, 3000, 6000], 10)).toEqual([0, 50, 200, 500]);
    expect(replayDurationMs([1000, 6000], 10)).toBe(500);
    expect(dueOffsets([1000, 1500, 3000], 'max')).toEqual([0, 0, 0]);
  });

  it('never goes backwards when a timestamp does: order wins', () => {
    expect(dueOffsets([0, 1000, 400, 2000], 1)).toEqual([0, 1000, 1000, 2000]);
  });

  it('is absolute: late wake-ups do not add up over a long replay', async () => {
    const clock = lateClock(3);
    const s = new ReplayScheduler(10, clock);
    const released: number[] = [];
    for (let i = 0; i < 1000; i++) {
      await s.wait(i * 100); // one event every 100 ms of original time: due every 10 ms
      released.push(clock.t);
    }
    // Each release is at most one wake-up late; a relative sleep schedule would be 3 s late by the end.
    expect(released[999]! - 999 * 10).toBeLessThanOrEqual(3);
    expect(s.lateness()).toBeLessThanOrEqual(3);
  });

  it('sleeps again when a timer fires early', async () => {
    const c = { t: 0, now: () => c.t, sleep: async (ms: number) => void (c.t += ms / 2) };
    const s = new ReplayScheduler(1, c, { earlyMs: 0 });
    await s.wait(0);
    await s.wait(100);
    expect(c.t).toBeGreaterThanOrEqual(100);
  });

  it('earlyMs: releases what is due within it at once and sets its timer that much early; never earlier', async () => {
    const sleeps: number[] = [];
    const c = { t: 0, now: () => c.t, sleep: async (ms: number) => void (sleeps.push(ms), (c.t += ms + 0.7)) }; // timers 0.7 ms late
    const s = new ReplayScheduler(1, c, { earlyMs: 1 });
    await s.wait(0);
    await s.wait(100);
    expect(sleeps).toEqual([99]);
    expect(s.lateness()).toBeCloseTo(-0.3, 5); // timer lateness centred on the due time
    await s.wait(100.5); // due within 1 ms: released with no timer
    expect(sleeps).toEqual([99]);
    expect(s.lateness()).toBeCloseTo(-0.8, 5);
    // A timer firing early is slept on again rather than releasing the event more than earlyMs early.
    const e = { t: 0, now: () => e.t, sleep: async (ms: number) => void (e.t += ms / 2) };
    const early = new ReplayScheduler(1, e, { earlyMs: 1 });
    await early.wait(0);
    await early.wait(100);
    expect(e.t).toBeGreaterThanOrEqual(99);
    expect(early.lateness()).toBeGreaterThanOrEqual(-1);
  });

  it('earlyMs 0 sleeps on timers only and is never early', async () => {
    const c = { t: 0, now: () => c.t, sleep: async (ms: number) => void (c.t += ms + 0.7) };
    const s = new ReplayScheduler(1, c, { earlyMs: 0 });
    await s.wait(0);
    await s.wait(100);
    await s.wait(100.5);
    expect(s.lateness()).toBeGreaterThanOrEqual(0);
    expect(c.t).toBeGreaterThanOrEqual(100.5);
  });

  it('a bad pacer option is ONEX_RT_407 naming it, before anything is read', async () => {
    for (const earlyMs of [-1, 6, Number.NaN, '1' as unknown as number]) {
      const replay = runReplay({ kafka: {} as never, codec: {} as never, sourceTopic: 'a', toTopic: 'b', selection: { correlationId: 'x' }, pacer: { earlyMs } });
      await expect(replay).rejects.toMatchObject({ code: 'ONEX_RT_407', message: expect.stringContaining('pacer.earlyMs') });
    }
  });

  it('max does not wait', async () => {
    const clock = lateClock(0);
    const s = new ReplayScheduler('max', clock);
    await s.wait(0);
    await s.wait(1_000_000);
    expect(clock.t).toBe(0);
  });

  it('parses speeds into ONEX_RT_407', () => {
    expect(parseSpeed('10')).toBe(10);
    expect(parseSpeed('0.25')).toBe(0.25);
    expect(parseSpeed('max')).toBe('max');
    for (const bad of ['0', '-2', 'fast', '', 'Infinity']) expect(() => parseSpeed(bad)).toThrow(expect.objectContaining({ code: 'ONEX_RT_407' }));
  });
});
