import { Option, type Command } from 'commander';
import type { Registry } from 'prom-client';
import { Health } from '../health/index.js';
import { startMetricsServer } from '../telemetry/index.js';
import type { MetricsServer } from '../telemetry/types.js';
import { parseListenPort } from './args.js';

/** What the health/metrics server flags leave in a command's options. */
export interface HealthServerFlags {
  metricsPort?: number;
  metricsHost: string;
}

/**
 * `--metrics-port` and `--metrics-host` of every long-running command: one HTTP server with /metrics, /healthz and
 * /readyz. The host defaults to ONEX_METRICS_HOST, else 127.0.0.1 (a container sets 0.0.0.0 so probes and
 * Prometheus reach it).
 */
export function addHealthServerOptions(cmd: Command, defaultPort?: number): Command {
  const port = new Option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on this port (0: any free port)').argParser(parseListenPort);
  return cmd
    .addOption(defaultPort === undefined ? port : port.default(defaultPort))
    .addOption(new Option('--metrics-host <host>', 'address the metrics and health server listens on').env('ONEX_METRICS_HOST').default('127.0.0.1'));
}

/**
 * Starts the server when --metrics-port was given, and turns readiness false on the first SIGTERM / SIGINT (the
 * process then drains while /healthz still answers). Returns undefined without a port.
 */
export async function serveHealth(flags: HealthServerFlags, health: Health, registries?: Registry[]): Promise<MetricsServer | undefined> {
  const drain = () => health.drain();
  process.once('SIGTERM', drain);
  process.once('SIGINT', drain);
  if (flags.metricsPort === undefined) return undefined;
  const server = await startMetricsServer({ port: flags.metricsPort, host: flags.metricsHost, health, ...(registries ? { registries } : {}) });
  process.stderr.write(`health and metrics on ${server.baseUrl} (/metrics, /healthz, /readyz)\n`);
  return server;
}
