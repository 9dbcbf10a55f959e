import { createServer } from 'node:net';
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startMetricsServer } from '../../../src/telemetry/index.js';

describe('/metrics server', () => {
  it('serves the metrics of several registries together in the Prometheus text format', async () => {
    const a = new client.Registry();
    const b = new client.Registry();
    new client.Counter({ name: 'onex_test_a_total', help: 'a', registers: [a] }).inc(3);
    new client.Gauge({ name: 'onex_test_b', help: 'b', registers: [b] }).set(7);
    const server = await startMetricsServer({ port: 0, registries: [a, b] });
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(text).toMatch(/^onex_test_a_total 3$/m);
      expect(text).toMatch(/^onex_test_b 7$/m);
      expect(text).toContain('nodejs_eventloop_lag_seconds');
      expect((await fetch(server.url.replace('/metrics', '/healthz'))).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('says clearly when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(startMetricsServer({ port, registries: [new client.Registry()] })).rejects.toMatchObject({ code: 'ONEX_RT_406' });
    } finally {
      taken.close();
    }
  });
});
