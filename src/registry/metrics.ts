import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RegistryState } from './state.js';

/**
 * The server's Prometheus metrics, in a registry of its own (two servers in one process, as in tests, must not
 * share counters). Labels are bounded: the route is the route pattern (`/schemas/ids/:id`), never the raw URL.
 */
export interface RegistryMetrics {
  registry: Registry;
  observe(method: string, route: string, status: number, seconds: number): void;
}

export function createRegistryMetrics(state: () => RegistryState): RegistryMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'onex_registry_' });
  const requests = new Counter({
    name: 'onex_registry_http_requests_total',
    help: 'Schema registry HTTP requests by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'onex_registry_http_request_duration_seconds',
    help: 'Schema registry HTTP request latency by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'onex_registry_schemas',
    help: 'Distinct schemas (ids) the registry holds',
    registers: [registry],
    collect() {
      this.set(state().schemas.size);
    },
  });
  new Gauge({
    name: 'onex_registry_subjects',
    help: 'Subjects the registry holds, soft-deleted ones included',
    registers: [registry],
    collect() {
      this.set(state().subjects.size);
    },
  });
  return {
    registry,
    observe(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      latency.observe({ method, route }, seconds);
    },
  };
}
