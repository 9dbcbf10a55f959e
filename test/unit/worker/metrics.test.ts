import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { WorkerMetrics } from '../../../src/worker/index.js';
import { metricValue } from './fakes.js';

describe('worker metrics', () => {
  it('keep label cardinality bounded: unknown event types and versions collapse into one value', async () => {
    const registry = new Registry();
    const m = new WorkerMetrics(registry);
    for (let i = 0; i < 50; i++) m.recordProcessed(`CUSTOM_TYPE_${i}`, 'handled');
    m.recordProcessed('NODE_START', 'handled');
    m.recordWriterVersion('9.9.9' as never);
    const processed = await registry.getSingleMetric('onex_worker_events_processed_total')!.get();
    expect(processed.values.map((v) => v.labels.event_type).sort()).toEqual(['NODE_START', 'UNKNOWN']);
    expect(await metricValue(registry, 'onex_worker_events_processed_total', { event_type: 'UNKNOWN' })).toBe(50);
    expect(await metricValue(registry, 'onex_worker_schema_version_total', { version: 'unknown' })).toBe(1);
  });

  it('report consumer lag per partition, never below zero', async () => {
    const registry = new Registry();
    const m = new WorkerMetrics(registry);
    m.setLag('onex.events', 0, 12);
    m.setLag('onex.events', 1, -1);
    expect(await metricValue(registry, 'onex_worker_consumer_lag', { partition: '0' })).toBe(12);
    expect(await metricValue(registry, 'onex_worker_consumer_lag', { partition: '1' })).toBe(0);
    expect(await registry.metrics()).toContain('onex_worker_dead_letters_total');
  });

  it('counts kept per record reach prom-client at every scrape, from every worker sharing the registry, and at close', async () => {
    const registry = new Registry();
    const a = new WorkerMetrics(registry);
    const b = new WorkerMetrics(registry);
    a.recordProcessed('NODE_START', 'handled');
    b.recordProcessed('NODE_START', 'handled');
    b.recordDeadLetter('ONEX_EVENT_604');
    expect(await registry.metrics()).toContain('onex_worker_events_processed_total{event_type="NODE_START",status="handled"} 2');
    a.recordProcessed('NODE_START', 'handled');
    a.close();
    a.recordProcessed('NODE_START', 'handled'); // after close: counted only at the next close or flush of its own
    expect(await metricValue(registry, 'onex_worker_events_processed_total', { event_type: 'NODE_START', status: 'handled' })).toBe(3);
    expect(await metricValue(registry, 'onex_worker_dead_letters_total', { code: 'ONEX_EVENT_604' })).toBe(1);
  });

  it('export processing latency exactly as a prom-client histogram with the same buckets would', async () => {
    const ours = new Registry();
    const m = new WorkerMetrics(ours);
    const theirs = new Registry();
    const reference = new Histogram({
      name: 'onex_worker_processing_seconds',
      help: 'Decode, upcast, validate and handle time of one event, by writer schema version',
      labelNames: ['version'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [theirs],
    });
    const seen: Array<['1.0.0' | '2.0.0', number]> = [['1.0.0', 0.00005], ['1.0.0', 0.0005], ['2.0.0', 0.0003], ['1.0.0', 3], ['2.0.0', 60], ['1.0.0', 0.0001]];
    for (const [version, seconds] of seen) {
      m.recordLatency(version, seconds);
      reference.observe({ version }, seconds);
    }
    const lines = async (r: Registry) => (await r.metrics()).split('\n').filter((l) => l.startsWith('onex_worker_processing_seconds')).sort();
    expect(await lines(ours)).toEqual(await lines(theirs));
    // A second worker on the registry adds to the same series.
    new WorkerMetrics(ours).recordLatency('2.0.0', 0.001);
    expect(await ours.metrics()).toContain('onex_worker_processing_seconds_count{version="2.0.0"} 3');
  });
});
