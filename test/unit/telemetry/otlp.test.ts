import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isOnexError } from '../../../src/errors/index.js';
import { otlpTracesUrl, startOtlpTracing } from '../../../src/telemetry/otlp.js';

/**
 * The CLI's OTLP wiring against a real HTTP receiver on 127.0.0.1: the standard OTEL_* variables decide where spans
 * go and what the service is called, they switch tracing off, and a receiver that refuses the spans is counted in
 * onex_trace_export_failures_total without anything thrown.
 */

interface Received {
  path: string;
  body: string;
}
let server: Server;
let base = '';
let answer = 200;
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(answer, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  received.length = 0;
  answer = 200;
  delete process.env.OTEL_SERVICE_NAME;
  trace.disable();
  context.disable();
  propagation.disable();
});

function oneSpan(name: string): void {
  trace.getTracer('otlp-test').startSpan(name).end();
}

describe('startOtlpTracing (the CLI\'s --otlp-endpoint and OTEL_* variables)', () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT is a base URL (/v1/traces appended); OTEL_SERVICE_NAME names the service', async () => {
    process.env.OTEL_SERVICE_NAME = 'svc-from-env';
    const t = await startOtlpTracing({ serviceName: 'onex-worker', env: { OTEL_EXPORTER_OTLP_ENDPOINT: base }, metricsRegistry: new Registry() });
    expect(t?.url).toBe(`${base}/v1/traces`);
    oneSpan('span-from-env');
    await t!.shutdown();
    expect(received.map((r) => r.path)).toEqual(['/v1/traces']);
    expect(received[0]!.body).toContain('span-from-env');
    expect(received[0]!.body).toContain('svc-from-env');
    expect(received[0]!.body).not.toContain('"onex-worker"');
  });

  it('the flag wins over the variables; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is a full URL', async () => {
    const flagged = await startOtlpTracing({ endpoint: `${base}/`, serviceName: 'onex-alerts', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }, metricsRegistry: new Registry() });
    expect(flagged?.url).toBe(`${base}/v1/traces`);
    oneSpan('span-from-flag');
    await flagged!.shutdown();
    expect(received[0]!.body).toContain('"onex-alerts"');
    trace.disable();
    const full = await startOtlpTracing({ serviceName: 's', env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${base}/custom/traces`, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }, metricsRegistry: new Registry() });
    expect(full?.url).toBe(`${base}/custom/traces`);
    oneSpan('span-full-url');
    await full!.shutdown();
    expect(received.map((r) => r.path)).toEqual(['/v1/traces', '/custom/traces']);
  });

  it('no endpoint, OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none: no SDK at all', async () => {
    expect(await startOtlpTracing({ serviceName: 's', env: {} })).toBeUndefined();
    expect(await startOtlpTracing({ serviceName: 's', env: { OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_SDK_DISABLED: 'true' } })).toBeUndefined();
    expect(await startOtlpTracing({ endpoint: base, serviceName: 's', env: { OTEL_TRACES_EXPORTER: 'none' } })).toBeUndefined();
    oneSpan('nowhere');
    expect(trace.getSpan(context.active())).toBeUndefined();
    expect(received).toEqual([]);
  });

  it('a receiver refusing the spans is counted in onex_trace_export_failures_total; nothing is thrown', async () => {
    answer = 400;
    const registry = new Registry();
    const t = await startOtlpTracing({ endpoint: base, serviceName: 's', env: {}, metricsRegistry: registry });
    oneSpan('refused-1');
    oneSpan('refused-2');
    await expect(t!.shutdown()).resolves.toBeUndefined();
    expect(received.length).toBeGreaterThan(0);
    const counter = (await registry.getMetricsAsJSON()).find((m) => m.name === 'onex_trace_export_failures_total');
    expect(counter?.values[0]?.value).toBe(2);
  });

  it('an endpoint that is no http(s) URL is ONEX_TELEM_505', () => {
    for (const bad of ['not a url', 'ftp://127.0.0.1:4318']) {
      let caught: unknown;
      try {
        otlpTracesUrl(bad);
      } catch (e) {
        caught = e;
      }
      expect(isOnexError(caught) && caught.code).toBe('ONEX_TELEM_505');
    }
  });
});
