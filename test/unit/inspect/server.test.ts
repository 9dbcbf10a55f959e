import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { OnexEventCodec, registryFromUrl } from '../../../src/codec/index.js';
import { createInspectApp, startInspectServer } from '../../../src/inspect/index.js';

// No Kafka here: these routes answer without it (the broker-backed ones are in test/integration/inspect).
const kafka = {} as never;
const decoder = new OnexEventCodec({ registry: registryFromUrl('http://127.0.0.1:1') });

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

function app(metricsRegistry = new Registry()) {
  const made = createInspectApp({ kafka, decoder, metricsRegistry });
  close = () => made.app.close();
  return made.app;
}

describe('inspect server (fastify) without a broker', () => {
  it('serves /healthz and the page at / and /flows/{id}, never cached', async () => {
    const a = app();
    const health = await a.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    expect(health.headers['cache-control']).toBe('no-store');
    for (const url of ['/', '/flows/abc-1', '/flows/abc-1?x=1']) {
      const page = await a.inject({ method: 'GET', url });
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.body).toMatch(/^<!doctype html>/);
    }
  });

  it('an unknown path is 404 ONEX_RT_431, a known path with another method 405, both JSON', async () => {
    const a = app();
    const missing = await a.inject({ method: 'GET', url: '/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ code: 'ONEX_RT_431', message: 'nothing is served at /nope' });
    const wrong = await a.inject({ method: 'DELETE', url: '/api/correlations/abc' });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.json()).toMatchObject({ code: 'ONEX_CLI_300' });
    expect((await a.inject({ method: 'HEAD', url: '/healthz' })).statusCode).toBe(405);
    expect((await a.inject({ method: 'GET', url: '/api/replays' })).statusCode).toBe(405);
  });

  it('a bad replay request is 400 ONEX_RT_407 naming what is wrong, whatever its content type', async () => {
    const a = app();
    const post = (payload: string, type?: string) =>
      a.inject({ method: 'POST', url: '/api/replays', payload, headers: type ? { 'content-type': type } : {} });
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['{"speed": 2}', 'application/json', /correlation_id/],
      ['', 'application/json', /correlation_id/],
      ['', undefined, /correlation_id/],
      ['not json', 'text/plain', /not a JSON object/],
      ['[1]', 'application/json', /not a JSON object/],
      ['{"correlation_id": "a", "speed": "fast"}', 'application/json', /speed/],
      [JSON.stringify({ correlation_id: 'a', pad: 'x'.repeat(70_000) }), 'application/json', /over 65536 bytes/],
    ];
    for (const [payload, type, message] of cases) {
      const r = await post(payload, type);
      expect(r.statusCode, payload.slice(0, 40)).toBe(400);
      expect(r.json()).toMatchObject({ code: 'ONEX_RT_407', message: expect.stringMatching(message) });
    }
    const unknown = await a.inject({ method: 'GET', url: '/api/replays/none' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'ONEX_RT_431' });
  });

  it('counts requests by route pattern and status, times them, and gives the metrics back on close', async () => {
    const registry = new Registry();
    const a = app(registry);
    await a.inject({ method: 'GET', url: '/flows/one' });
    await a.inject({ method: 'GET', url: '/flows/two' });
    await a.inject({ method: 'GET', url: '/api/replays/x' });
    await a.inject({ method: 'GET', url: '/nope' });
    const text = (await a.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain('onex_inspect_requests_total{route="/flows/{id}",status="200"} 2');
    expect(text).toContain('onex_inspect_requests_total{route="/api/replays/{id}",status="404"} 1');
    expect(text).toContain('onex_inspect_requests_total{route="unmatched",status="404"} 1');
    expect(text).toContain('onex_inspect_request_seconds_count{route="/flows/{id}"} 2');
    await a.close();
    close = undefined;
    expect(registry.getSingleMetric('onex_inspect_requests_total')).toBeUndefined();
    // So a second server on the same registry starts.
    app(registry);
  });

  it('a port in use is ONEX_RT_406 saying so', async () => {
    const first = await startInspectServer({ kafka, decoder, port: 0, metricsRegistry: new Registry() });
    try {
      const port = Number(new URL(first.url).port);
      await expect(startInspectServer({ kafka, decoder, port, metricsRegistry: new Registry() })).rejects.toMatchObject({ code: 'ONEX_RT_406', message: expect.stringContaining(`port ${port}`) });
    } finally {
      await first.close();
    }
  });
});
