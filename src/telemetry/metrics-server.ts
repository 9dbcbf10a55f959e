import Fastify from 'fastify';
import client, { type Registry } from 'prom-client';
import { onexError } from '../errors/index.js';
import { addHealthRoutes, Health } from '../health/index.js';
import type { MetricsServer } from './types.js';

export interface MetricsServerOptions {
  /** Default 9464 (the OpenTelemetry Prometheus exporter's port); 0 picks a free one. */
  port?: number;
  host?: string;
  /** Registries to expose together (the producer's, the worker's, ...). Default: prom-client's global one. */
  registries?: Registry[];
  /** Adds Node.js process metrics (event loop lag, heap, GC) to the first registry. Default true. */
  processMetrics?: boolean;
  /** Readiness served at /readyz (and liveness at /healthz). Default: a Health with no checks (ready until drained). */
  health?: Health;
}

export type { MetricsServer } from './types.js';

const withProcessMetrics = new WeakSet<Registry>();

/** Serves GET /metrics in the Prometheus text format, GET /healthz (alive) and GET /readyz (ready, see src/health). */
export async function startMetricsServer(options: MetricsServerOptions = {}): Promise<MetricsServer> {
  const registries = options.registries ?? [client.register];
  const first = registries[0]!;
  if ((options.processMetrics ?? true) && !withProcessMetrics.has(first)) {
    client.collectDefaultMetrics({ register: first });
    withProcessMetrics.add(first);
  }
  const merged = registries.length === 1 ? first : client.Registry.merge(registries);
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => {
    reply.type(merged.contentType);
    return merged.metrics();
  });
  addHealthRoutes(app, options.health ?? new Health());
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 9464;
  try {
    await app.listen({ port, host });
  } catch (err) {
    await app.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw onexError('ONEX_RT_406', `port ${port} on ${host} is in use, so /metrics cannot listen there; choose another port`, { cause: err });
    }
    throw err;
  }
  const address = app.server.address() as { port: number };
  const shown = host.includes(':') ? `[${host}]` : host;
  const baseUrl = `http://${shown}:${address.port}`;
  return { url: `${baseUrl}/metrics`, baseUrl, close: () => app.close() };
}
