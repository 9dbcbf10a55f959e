import { describe, expect, it } from 'vitest';
import { createKafka } from '../../../src/kafka/index.js';
import { OnexError } from '../../../src/event/index.js';
import { createWorker, DEFAULT_RETRY_POLICY, type WorkerOptions } from '../../../src/worker/index.js';
import { resolveWorkerOptions, WORKER_DEFAULTS } from '../../../src/worker/options.js';
import { Registry } from 'prom-client';
import { FakeDecoder } from './fakes.js';

const kafka = createKafka({ brokers: ['127.0.0.1:1'] });
const base = (): WorkerOptions => ({ kafka, groupId: 'g', topics: 'onex.events', decoder: new FakeDecoder(), handlers: { '*': () => undefined }, metricsRegistry: new Registry() });

function codeOf(fn: () => unknown): [string | undefined, string | undefined] {
  try {
    fn();
  } catch (e) {
    return [(e as OnexError).code, (e as OnexError).message];
  }
  return [undefined, undefined];
}

describe('worker options', () => {
  it('fills the defaults', () => {
    const w = createWorker(base());
    expect(w.targetVersion).toBe('2.0.0');
    expect(w.groupId).toBe('g');
    expect(w.stats()).toEqual({ handled: 0, unhandled: 0, deadLettered: 0, dropped: 0, batches: 0 });
  });

  it.each([
    [{ groupId: '' }, 'groupId'],
    [{ topics: [] }, 'topics'],
    [{ targetVersion: '3.0.0' }, 'targetVersion'],
    [{ concurrency: 0 }, 'concurrency'],
    [{ retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    [{ retry: { jitter: 2 } }, 'retry.jitter'],
    [{ validation: 'lenient' }, 'validation'],
    [{ deprecatedVersions: ['0.9.0'] }, 'deprecatedVersions'],
    [{ consumer: { heartbeatIntervalMs: 40_000 } }, 'consumer.heartbeatIntervalMs: 40000 ms must be below consumer.sessionTimeoutMs'],
    [{ consumer: { sessionTimeoutMs: 0 } }, 'consumer.sessionTimeoutMs'],
    [{ consumer: { maxWaitTimeMs: -1 } }, 'consumer.maxWaitTimeMs'],
    [{ consumer: { fastFetch: 'yes' } }, 'consumer.fastFetch'],
    [{ consumer: { sessionTimeOutMs: 10_000 } }, 'sessionTimeOutMs'],
    [{ deadLetter: { partitions: 0 } }, 'deadLetter.partitions'],
    [{ deadLetter: { topic: 'onex.events' } }, 'deadLetter.topic'],
    [{ decoder: {} }, 'decoder'],
    [{ handlers: { NODE_STRAT: () => undefined } }, 'NODE_STRAT'],
  ])('refuses %j with ONEX_RT_407 naming %s', (patch, name) => {
    const [code, message] = codeOf(() => createWorker({ ...base(), ...(patch as object) } as WorkerOptions));
    expect(code).toBe('ONEX_RT_407');
    expect(message).toContain(name);
  });

  it('fills every default from WORKER_DEFAULTS, and an option given as undefined keeps its default', () => {
    const o = resolveWorkerOptions({ ...base(), consumer: { sessionTimeoutMs: undefined }, retry: { maxAttempts: undefined } });
    expect(o).toMatchObject({ ...WORKER_DEFAULTS.consumer, concurrency: WORKER_DEFAULTS.concurrency, validation: WORKER_DEFAULTS.validation, shutdownTimeoutMs: WORKER_DEFAULTS.shutdownTimeoutMs, retry: DEFAULT_RETRY_POLICY });
    expect(o.deadLetter).toMatchObject(WORKER_DEFAULTS.deadLetter);
    expect(resolveWorkerOptions({ ...base(), consumer: { maxWaitTimeMs: 50 }, deadLetter: { partitions: 3 } })).toMatchObject({ maxWaitTimeMs: 50, sessionTimeoutMs: 30_000, deadLetter: { partitions: 3 } });
  });

  it('two workers on one metrics registry share the metrics instead of failing to register them twice', () => {
    const registry = new Registry();
    const a = createWorker({ ...base(), metricsRegistry: registry });
    const b = createWorker({ ...base(), metricsRegistry: registry });
    expect(a.metrics.processed).toBe(b.metrics.processed);
  });
});
