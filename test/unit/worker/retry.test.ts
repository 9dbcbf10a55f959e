import { describe, expect, it } from 'vitest';
import { onexError } from '../../../src/event/index.js';
import { attemptDelay, classifyFailure, DEFAULT_RETRY_POLICY, retryWhileRetriable, shouldRetry } from '../../../src/worker/index.js';

const FAST = { initialMs: 1, multiplier: 1, maxMs: 1, jitter: 0 };

describe('retry policy', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, initialBackoffMs: 100, multiplier: 2, maxBackoffMs: 1_000, jitter: 0 };

  it('backs off exponentially up to the cap', () => {
    expect([2, 3, 4, 5, 6, 7].map((a) => attemptDelay(policy, a))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('jitter only ever shortens a delay, by at most its fraction', () => {
    const p = { ...policy, jitter: 0.5 };
    expect(attemptDelay(p, 2, () => 0)).toBe(100);
    expect(attemptDelay(p, 2, () => 0.999999)).toBe(50);
  });

  it('retries only retriable codes, and only up to maxAttempts in all', () => {
    const retriable = onexError('ONEX_EVENT_610', 'x');
    const final = onexError('ONEX_EVENT_604', 'x');
    expect(shouldRetry({ ...policy, maxAttempts: 3 }, retriable, 1)).toBe(true);
    expect(shouldRetry({ ...policy, maxAttempts: 3 }, retriable, 2)).toBe(true);
    expect(shouldRetry({ ...policy, maxAttempts: 3 }, retriable, 3)).toBe(false);
    expect(shouldRetry({ ...policy, maxAttempts: 3 }, final, 1)).toBe(false);
    expect(shouldRetry({ ...policy, maxAttempts: 1 }, retriable, 1)).toBe(false);
  });

  it('retries outage codes (the registry or the network is down) beyond maxAttempts: the record is not at fault', () => {
    const outage = onexError('ONEX_REG_206', 'registry unreachable');
    expect(shouldRetry({ ...policy, maxAttempts: 3 }, outage, 50)).toBe(true);
    expect(shouldRetry({ ...policy, maxAttempts: 3, outageCodes: [] }, outage, 3)).toBe(false);
  });

  it('gives every failure an ONEX code: a plain handler exception is ONEX_EVENT_610, an OnexError keeps its code', () => {
    const plain = classifyFailure('handle', new TypeError('boom'));
    expect(plain.code).toBe('ONEX_EVENT_610');
    expect(plain.retriable).toBe(true);
    expect(plain.message).toContain('boom');
    expect(classifyFailure('handle', 'a string').code).toBe('ONEX_EVENT_610');
    expect(classifyFailure('decode', onexError('ONEX_SCHEMA_701', 'newer major')).code).toBe('ONEX_SCHEMA_701');
    expect(classifyFailure('decode', new Error('avsc: truncated buffer')).code).toBe('ONEX_EVENT_604');
    expect(classifyFailure('validate', new Error('?')).code).toBe('ONEX_VALID_102');
  });

  it('retryWhileRetriable repeats a start-up step that fails with a retriable code, and not one that fails for good', async () => {
    let calls = 0;
    const flaky = () => (++calls < 3 ? Promise.reject(onexError('ONEX_EVENT_600', 'not hosted yet')) : Promise.resolve('ok'));
    expect(await retryWhileRetriable(flaky, 5, FAST)).toBe('ok');
    expect(calls).toBe(3);
    let finalCalls = 0;
    const broken = () => {
      finalCalls++;
      return Promise.reject(onexError('ONEX_RT_407', 'bad config'));
    };
    await expect(retryWhileRetriable(broken, 5, FAST)).rejects.toThrow('bad config');
    expect(finalCalls).toBe(1);
  });
});
