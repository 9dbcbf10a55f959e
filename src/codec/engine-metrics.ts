import client, { type Registry } from 'prom-client';
import { schemaEngineStats } from '../schema/index.js';

/**
 * onex_schema_avsc_fallbacks_total{path,reason}: the values the schema engine left to avsc instead of its compiled
 * codecs (src/schema/engine-stats.ts). Read from the engine's counters at scrape time, so the hot path pays nothing
 * for the metric; the producer's and the worker's metrics both register it (once per registry).
 */
export function registerSchemaEngineMetrics(registry: Registry = client.register): void {
  if (registry.getSingleMetric('onex_schema_avsc_fallbacks_total')) return;
  new client.Counter({
    name: 'onex_schema_avsc_fallbacks_total',
    help: 'Events the schema engine encoded, decoded or resolved through avsc instead of a compiled codec, by path (encode, decode, resolve, value_resolve) and reason (not_compiled, gave_up)',
    labelNames: ['path', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [path, reasons] of Object.entries(schemaEngineStats())) {
        for (const [reason, count] of Object.entries(reasons)) this.inc({ path, reason }, count);
      }
    },
  });
}
