import { asOnexError, type OnexCode, type OnexError } from '../errors/index.js';
import { backoffDelay } from '../retry/index.js';
import type { FailureStage } from './types.js';

/**
 * How often and how patiently one record is tried before it goes to the dead-letter topic.
 *
 * Only failures whose ONEX code is recoverable 'Retry' are tried again: a wrong magic byte or a validation failure
 * gives the same answer every time, so retrying it only delays the records behind it in the partition.
 */
export interface RetryPolicy {
  /** Attempts in all, the first one included (1 = no retries). */
  maxAttempts: number;
  /** Delay before the second attempt. */
  initialBackoffMs: number;
  /** Each further delay is the previous one times this. */
  multiplier: number;
  /** Upper bound of one delay. */
  maxBackoffMs: number;
  /** 0..1: each delay is shortened by up to this fraction at random, so that workers do not retry in lockstep. */
  jitter: number;
  /**
   * Codes that say a dependency of the worker is down (the schema registry, the network), not that the record is bad.
   * These are retried without the maxAttempts bound, at maxBackoffMs at most, until they clear or the worker stops:
   * dead-lettering them would move every record of an outage into the dead-letter topic.
   */
  outageCodes: readonly string[];
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 3,
  initialBackoffMs: 100,
  multiplier: 2,
  maxBackoffMs: 5_000,
  jitter: 0.2,
  outageCodes: Object.freeze(['ONEX_REG_206', 'ONEX_SYS_902']),
});

/** The delay before attempt `nextAttempt` (2 = the first retry): the pipeline's one backoff (src/retry) with the policy's numbers. */
export function attemptDelay(policy: RetryPolicy, nextAttempt: number, random: () => number = Math.random): number {
  const backoff = { initialMs: policy.initialBackoffMs, multiplier: policy.multiplier, maxMs: policy.maxBackoffMs, jitter: policy.jitter };
  return backoffDelay(backoff, nextAttempt - 1, random);
}

/** Whether a failure after `attempts` attempts deserves another one. */
export function shouldRetry(policy: RetryPolicy, error: OnexError, attempts: number): boolean {
  if (policy.outageCodes.includes(error.code)) return true;
  return error.retriable && attempts < policy.maxAttempts;
}


const FALLBACK: Record<FailureStage, OnexCode> = {
  decode: 'ONEX_EVENT_604',
  verify: 'ONEX_EVENT_606',
  validate: 'ONEX_VALID_102',
  // A handler's own exception is presumed transient (a database timeout, a busy downstream): ONEX_EVENT_610 is
  // recoverable 'Retry'. A handler that knows better throws an OnexError with a non-retriable code.
  handle: 'ONEX_EVENT_610',
};

/** Every failure of the path as an OnexError; an error that already carries an ONEX code keeps it. */
export function classifyFailure(stage: FailureStage, thrown: unknown): OnexError {
  if (stage === 'handle') {
    const text = thrown instanceof Error ? thrown.message : String(thrown);
    return asOnexError(thrown, 'ONEX_EVENT_610', `the handler failed: ${text}`);
  }
  return asOnexError(thrown, FALLBACK[stage]);
}
