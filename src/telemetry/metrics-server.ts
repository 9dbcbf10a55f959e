import Fastify from 'fastify';
import client, { type Registry } from 'prom-client';
import { onexError } from '../errors/index.js';

export interface MetricsServerOptions {
  /** Default 9464 (the OpenTelemetry Prometheus exporter's port); 0 picks a free one. */
  port?: number;
  host?: string;
  /** Registries to expose together (the producer's, the worker's, ...). Default: prom-client's global one. */
  registries?: Registry[];
  /** Adds Node.js process metrics (event loop lag, heap, GC) to the first registry. Default true. */
  processMetrics?: boolean;
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

const withProcessMetrics = new WeakSet<Registry>();

/** Serves GET /metrics in the Prometheus text format, and GET /healthz. */
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
  app.get('/healthz', async () => ({ status: 'ok' }));
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
  return { url: `http://${host}:${address.port}/metrics`, close: () => app.close() };
}
