import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { Consumer } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileFlagProvider, FlagSet } from '../../../src/flags/index.js';
import { addHealthRoutes, cachedCheck, combineChecks, Health, registryCheck, type CheckResult } from '../../../src/health/index.js';
import { ConsumerReadiness, runningCheck } from '../../../src/health/consumer.js';

let domains = 0;
async function checksOff(): Promise<FlagSet> {
  const set = new FlagSet({ domain: `health-off-${++domains}` });
  await set.useProvider(new FileFlagProvider({ env: { ONEX_FLAG_HEALTH_CHECKS: 'off' } }));
  return set;
}

afterEach(() => vi.useRealTimers());

describe('Health', () => {
  it('is ready with no checks, and with every check passing', async () => {
    expect(await new Health().readiness()).toEqual({ ready: true, draining: false, checks: {} });
    const h = new Health().add('a', () => ({ ok: true })).add('b', async () => ({ ok: true, detail: 'seen' }));
    expect(await h.readiness()).toEqual({ ready: true, draining: false, checks: { a: { ok: true }, b: { ok: true, detail: 'seen' } } });
  });

  it('is not ready when one check fails, throws or rejects, and says which and why', async () => {
    const h = new Health()
      .add('ok', () => ({ ok: true }))
      .add('down', () => ({ ok: false, detail: 'not connected' }))
      .add('throws', () => { throw new Error('boom'); })
      .add('rejects', () => Promise.reject(new Error('refused')));
    const r = await h.readiness();
    expect(r.ready).toBe(false);
    expect(r.checks).toEqual({ ok: { ok: true }, down: { ok: false, detail: 'not connected' }, throws: { ok: false, detail: 'boom' }, rejects: { ok: false, detail: 'refused' } });
  });

  it('counts a check that does not answer within 2 s as failed', async () => {
    vi.useFakeTimers();
    const h = new Health().add('slow', () => new Promise<CheckResult>(() => undefined)).add('fast', () => ({ ok: true }));
    const pending = h.readiness();
    await vi.advanceTimersByTimeAsync(1_999);
    let done = false;
    void pending.then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await pending).toEqual({ ready: false, draining: false, checks: { slow: { ok: false, detail: 'no answer within 2000 ms' }, fast: { ok: true } } });
  });

  it('add replaces a check of the same name', async () => {
    const h = new Health().add('x', () => ({ ok: false })).add('x', () => ({ ok: true }));
    expect((await h.readiness()).ready).toBe(true);
  });

  it('drain() makes it not ready for good, even with every check passing, and is idempotent', async () => {
    const h = new Health().add('a', () => ({ ok: true }));
    h.drain();
    h.drain();
    expect(h.draining).toBe(true);
    expect(await h.readiness()).toEqual({ ready: false, draining: true, checks: { a: { ok: true }, draining: { ok: false, detail: 'shutting down' } } });
  });

  it('addAll folds a source of several checks into one named check', async () => {
    let group: CheckResult = { ok: false, detail: 'joining' };
    const h = new Health().addAll('worker', () => ({ kafka: { ok: true }, group }));
    expect((await h.readiness()).checks).toEqual({ worker: { ok: false, detail: 'group: joining' } });
    group = { ok: true, detail: 't[0,1]' };
    expect(await h.readiness()).toEqual({ ready: true, draining: false, checks: { worker: { ok: true, detail: 'kafka; group: t[0,1]' } } });
  });

  it('with onex.health.checks off asks no check and is ready unless draining', async () => {
    const asked = vi.fn(() => ({ ok: false }));
    const h = new Health({ flagSet: await checksOff() }).add('kafka', asked);
    expect(await h.readiness()).toEqual({ ready: true, draining: false, checks: {} });
    expect(asked).not.toHaveBeenCalled();
    h.drain();
    expect(await h.readiness()).toEqual({ ready: false, draining: true, checks: { draining: { ok: false, detail: 'shutting down' } } });
  });
});

describe('combineChecks', () => {
  it('names the failing parts, or what each part saw', () => {
    expect(combineChecks({})).toEqual({ ok: true, detail: '' });
    expect(combineChecks({ a: { ok: true }, b: { ok: true, detail: 'x' } })).toEqual({ ok: true, detail: 'a; b: x' });
    expect(combineChecks({ a: { ok: true }, b: { ok: false }, c: { ok: false, detail: 'gone' } })).toEqual({ ok: false, detail: 'b: not ready; c: gone' });
  });
});

describe('addHealthRoutes', () => {
  it('/healthz answers 200 whatever readiness says; /readyz 200 when ready, 503 when not or draining', async () => {
    let ok = false;
    const health = new Health().add('kafka', () => (ok ? { ok: true } : { ok: false, detail: 'not connected' }));
    const app = Fastify();
    addHealthRoutes(app, health);
    try {
      expect((await app.inject('/healthz')).statusCode).toBe(200);
      let r = await app.inject('/readyz');
      expect(r.statusCode).toBe(503);
      expect(r.json()).toEqual({ status: 'not ready', ready: false, draining: false, checks: { kafka: { ok: false, detail: 'not connected' } } });
      ok = true;
      r = await app.inject('/readyz');
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ status: 'ready', ready: true });
      health.drain();
      r = await app.inject('/readyz');
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ status: 'not ready', draining: true, checks: { draining: { ok: false } } });
      const live = await app.inject('/healthz');
      expect(live.statusCode).toBe(200);
      expect(live.json()).toEqual({ status: 'ok' });
    } finally {
      await app.close();
    }
  });
});

describe('cachedCheck', () => {
  it('reuses a result for the ttl, then asks again', async () => {
    vi.useFakeTimers();
    let n = 0;
    const check = cachedCheck(async () => ({ ok: true, detail: `call ${++n}` }), { ttlMs: 1_000 });
    expect(await check()).toEqual({ ok: true, detail: 'call 1' });
    vi.advanceTimersByTime(999);
    expect(await check()).toEqual({ ok: true, detail: 'call 1' });
    vi.advanceTimersByTime(1);
    expect(await check()).toEqual({ ok: true, detail: 'call 2' });
  });

  it('never runs two probes at once: callers during a probe share it', async () => {
    let release!: (r: CheckResult) => void;
    const probe = vi.fn(() => new Promise<CheckResult>((r) => (release = r)));
    const check = cachedCheck(probe);
    const a = check();
    const b = check();
    expect(probe).toHaveBeenCalledTimes(1);
    release({ ok: true });
    expect(await a).toEqual({ ok: true });
    expect(await b).toEqual({ ok: true });
    expect(await check()).toEqual({ ok: true });
    expect(probe).toHaveBeenCalledTimes(1);
  });

  it('turns a rejected probe into a failed check, caches that too, and recovers after the ttl', async () => {
    vi.useFakeTimers();
    let fail = true;
    const check = cachedCheck(async () => {
      if (fail) throw new Error('ECONNREFUSED');
      return { ok: true };
    }, { ttlMs: 100 });
    expect(await check()).toEqual({ ok: false, detail: 'ECONNREFUSED' });
    fail = false;
    expect(await check()).toEqual({ ok: false, detail: 'ECONNREFUSED' });
    vi.advanceTimersByTime(100);
    expect(await check()).toEqual({ ok: true });
  });
});

describe('registryCheck', () => {
  it('is ready when GET /subjects answers 200, sends basic auth, and says the status otherwise', async () => {
    let status = 200;
    const seen: { url?: string; auth?: string }[] = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization });
      res.writeHead(status, { 'content-type': 'application/json' }).end('[]');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      expect(await registryCheck({ url, auth: { username: 'u', password: 'p' } }, { ttlMs: 0 })()).toEqual({ ok: true, detail: url });
      expect(seen[0]).toEqual({ url: '/subjects', auth: `Basic ${Buffer.from('u:p').toString('base64')}` });
      status = 401;
      expect(await registryCheck({ url }, { ttlMs: 0 })()).toEqual({ ok: false, detail: `${url} answered 401` });
      expect(seen[1]!.auth).toBeUndefined();
    } finally {
      await new Promise((r) => server.close(r));
    }
    const down = await registryCheck({ url }, { ttlMs: 0 })();
    expect(down.ok).toBe(false);
  });
});

/** The part of a kafkajs consumer ConsumerReadiness listens to: its instrumentation events. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const events = { CONNECT: 'consumer.connect', DISCONNECT: 'consumer.disconnect', REBALANCING: 'consumer.rebalancing', GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash' };
  const consumer = { events, on: (e: string, l: (ev: unknown) => void) => emitter.on(e, l) } as unknown as Consumer;
  const emit = (e: keyof typeof events, payload: unknown = {}) => emitter.emit(events[e], { type: events[e], payload });
  return { consumer, emit };
}

describe('ConsumerReadiness', () => {
  it('follows connect, join, rebalance, crash and disconnect', () => {
    const { consumer, emit } = fakeConsumer();
    const r = new ConsumerReadiness(consumer);
    expect(r.checks()).toEqual({ kafka: { ok: false, detail: 'not connected' }, group: { ok: false, detail: 'not in the group yet (joining or rebalancing)' } });
    emit('CONNECT');
    expect(r.checks().kafka).toEqual({ ok: true });
    expect(r.checks().group!.ok).toBe(false);
    emit('GROUP_JOIN', { memberAssignment: { 'orders.v1': [2, 0, 1], other: [3] } });
    expect(r.checks()).toEqual({ kafka: { ok: true }, group: { ok: true, detail: 'orders.v1[0,1,2] other[3]' } });
    emit('REBALANCING');
    expect(r.checks().group).toEqual({ ok: false, detail: 'not in the group yet (joining or rebalancing)' });
    emit('GROUP_JOIN', { memberAssignment: {} });
    expect(r.checks().group).toEqual({ ok: true, detail: 'no partitions (more members than partitions)' });
    emit('CRASH', { error: new Error('coordinator gone') });
    expect(r.checks()).toEqual({ kafka: { ok: false, detail: 'consumer restarting: coordinator gone' }, group: { ok: false, detail: 'not in the group yet (joining or rebalancing)' } });
    emit('GROUP_JOIN', { memberAssignment: { t: [0] } });
    expect(r.checks()).toEqual({ kafka: { ok: true }, group: { ok: true, detail: 't[0]' } });
    emit('DISCONNECT');
    expect(r.checks()).toEqual({ kafka: { ok: false, detail: 'not connected' }, group: { ok: false, detail: 'not in the group yet (joining or rebalancing)' } });
  });

  it('runningCheck: ok only when started and not stopping', () => {
    expect(runningCheck(false, false)).toEqual({ ok: false, detail: 'not started' });
    expect(runningCheck(true, false)).toEqual({ ok: true });
    expect(runningCheck(true, true)).toEqual({ ok: false, detail: 'draining' });
  });
});
