import client from 'prom-client';
import { registerSeamMetrics } from '../../src/kafka/index.js';
import { ProducerMetrics } from '../../src/producer/metrics.js';
import { AlertGauge } from '../../src/processors/alerting/index.js';
import { ProcessorMetrics } from '../../src/processors/index.js';
import { createRegistryMetrics } from '../../src/registry/metrics.js';
import { WorkerMetrics } from '../../src/worker/index.js';

/**
 * Every series name the code exports, read from the real prom-client registries of the producer, the worker, the
 * processor runtime, the alert processor and the schema registry (their `# TYPE` lines: a labelled metric with no
 * value yet still declares itself), histograms expanded to _bucket/_sum/_count. Rules and dashboards may name these,
 * the names Prometheus makes itself (up, ALERTS, ...) and the rules' own recordings, nothing else.
 */
export async function exportedSeriesNames(): Promise<Set<string>> {
  const registry = new client.Registry();
  new ProducerMetrics(registry);
  new WorkerMetrics(registry);
  new ProcessorMetrics('p', registry);
  new AlertGauge(registry);
  registerSeamMetrics(registry);
  const registryServer = createRegistryMetrics(() => ({ schemas: new Map(), subjects: new Map() }) as never);
  const names = new Set<string>();
  for (const text of [await registry.metrics(), await registryServer.registry.metrics()]) {
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name, type] = m as unknown as [string, string, string];
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(name + s);
      else names.add(name);
    }
  }
  return names;
}

/** Series Prometheus itself makes for every target and alerting rule. */
export const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'ALERTS', 'ALERTS_FOR_STATE']);
