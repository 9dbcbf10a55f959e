import { describe, expect, it } from 'vitest';
import { BACKOFFS, backoffDelay } from '../../../src/retry/index.js';

describe('one backoff for every retry loop', () => {
  const exact = { initialMs: 100, multiplier: 2, maxMs: 1_000, jitter: 0 };

  it('grows by the multiplier from the first retry up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(exact, n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('jitter only shortens a delay, by at most its fraction; full jitter reaches down to 0', () => {
    expect(backoffDelay({ ...exact, jitter: 0.5 }, 1, () => 0)).toBe(100);
    expect(backoffDelay({ ...exact, jitter: 0.5 }, 1, () => 0.999999)).toBe(50);
    expect(backoffDelay({ ...exact, jitter: 1 }, 1, () => 0.999999)).toBe(0);
  });

  it('the pipeline loops keep the delays they had: producer send 100 ms doubling to 2 s, dead letters up to 10 s', () => {
    const top = (b: typeof exact, n: number) => backoffDelay(b, n, () => 0);
    expect([1, 2, 5, 6, 9].map((n) => top(BACKOFFS.producerSend, n))).toEqual([100, 200, 1_600, 2_000, 2_000]);
    expect(top(BACKOFFS.registryClient, 1)).toBe(100);
    expect(top(BACKOFFS.registryStoreWrite, 1)).toBe(50);
    expect(top(BACKOFFS.deadLetterWrite, 1)).toBe(200);
    expect(top(BACKOFFS.deadLetterWrite, 20)).toBe(10_000);
    for (const b of Object.values(BACKOFFS)) expect(b.jitter).toBeGreaterThanOrEqual(0), expect(b.jitter).toBeLessThanOrEqual(1);
  });
});
