/**
 * One backoff for every retry loop of the pipeline: the producer's batch sends, the registry client's HTTP calls,
 * the registry store's fenced writes, the worker's record attempts and dead-letter writes, the processor runtime's
 * start-up steps, the alert webhook. Each loop names its own numbers (a Backoff); the shape of the delay is decided
 * here only.
 *
 * The delay before retry n (1 = the first retry) is min(maxMs, initialMs * multiplier^(n-1)), shortened at random
 * by up to `jitter` of itself: jitter 0 waits exactly, 1 is "full jitter" (anywhere from 0 to the delay), which is
 * what two writers competing for one resource want, so that they do not keep colliding in lockstep.
 */
import { isOnexError } from '../errors/index.js';

export interface Backoff {
  /** Delay before the first retry, in ms. */
  readonly initialMs: number;
  /** Each further delay is the previous one times this. */
  readonly multiplier: number;
  /** Upper bound of one delay, in ms. */
  readonly maxMs: number;
  /** 0..1: each delay is shortened by up to this fraction of itself at random. */
  readonly jitter: number;
}

/** The delay before retry `retry` (1 = the first retry), in whole ms. */
export function backoffDelay(backoff: Backoff, retry: number, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** Math.max(0, retry - 1));
  return Math.round(base * (1 - backoff.jitter * random()));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The backoffs of the pipeline's own loops, in one table so that they can be compared and changed in one place.
 * A loop's attempt bound (or deadline) stays with the loop: it is part of what the loop promises its caller.
 */
export const BACKOFFS = Object.freeze({
  /** A producer batch that failed to send, retried until the delivery timeout. */
  producerSend: Object.freeze({ initialMs: 100, multiplier: 2, maxMs: 2_000, jitter: 0.4 }),
  /** The registry client's HTTP calls (connection refused, 5xx, timeouts). */
  registryClient: Object.freeze({ initialMs: 100, multiplier: 2, maxMs: 2_000, jitter: 0.5 }),
  /** A registry store write that lost its epoch to another instance: full jitter, the writers compete. */
  registryStoreWrite: Object.freeze({ initialMs: 50, multiplier: 2, maxMs: 1_000, jitter: 1 }),
  /** A dead letter that could not be written: retried until it is, since the record must not be lost. */
  deadLetterWrite: Object.freeze({ initialMs: 200, multiplier: 2, maxMs: 10_000, jitter: 0.2 }),
  /** An alert posted to an Alertmanager webhook (connection failures, 5xx, 429), a few attempts. */
  alertWebhook: Object.freeze({ initialMs: 200, multiplier: 2, maxMs: 5_000, jitter: 0.3 }),
  /** A processor transaction's request the broker refused while it ends the previous transaction (from 5 ms: it takes a few). */
  transactionRequest: Object.freeze({ initialMs: 5, multiplier: 2, maxMs: 1_000, jitter: 0.2 }),
  /** A start-up step (topic creation, metadata) on a broker that is still settling. */
  startup: Object.freeze({ initialMs: 500, multiplier: 2, maxMs: 4_000, jitter: 0.2 }),
} satisfies Record<string, Backoff>);

/**
 * Runs a start-up step again while it fails with a retriable ONEX error: a broker that just started (or is moving a
 * controller) answers topic creation with "does not host this topic-partition" for a while after kafkajs's own
 * retries gave up. Any other failure, or the last attempt's, is thrown as it is.
 */
export async function retryWhileRetriable<T>(step: () => Promise<T>, attempts = 5, backoff: Backoff = BACKOFFS.startup): Promise<T> {
  return retryWhile(step, (err) => isOnexError(err) && err.retriable, attempts, backoff);
}

/** `step` again after each failure `retriable` says is worth it, up to `attempts` in all, backing off between them. */
export async function retryWhile<T>(step: () => Promise<T>, retriable: (err: unknown) => boolean, attempts: number, backoff: Backoff): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (attempt >= attempts || !retriable(err)) throw err;
      await sleep(backoffDelay(backoff, attempt));
    }
  }
}
