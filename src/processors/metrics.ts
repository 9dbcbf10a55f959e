import client, { type Counter, type Gauge, type Histogram, type Registry } from 'prom-client';
import type { EvictionReason } from './partition-state.js';

/**
 * The processor runtime's Prometheus metrics. Labels are closed sets: the processor's name, a store name from its
 * definition, a partition number, a result. Counts of the per-record path are added once per batch, not per record.
 * Several processors in one registry share the metrics (a metric already registered is reused).
 */
function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export class ProcessorMetrics {
  readonly recordsIn: Counter<string>;
  readonly recordsOut: Counter<string>;
  readonly late: Counter<string>;
  readonly transactions: Counter<string>;
  readonly evictions: Counter<string>;
  readonly timersFired: Counter<string>;
  readonly stateEntries: Gauge<string>;
  readonly lag: Gauge<string>;
  readonly restoreSeconds: Histogram<string>;

  constructor(
    readonly processor: string,
    registry: Registry = client.register,
  ) {
    const registers = [registry];
    this.recordsIn = metric(registry, 'onex_processor_records_in_total', () => new client.Counter({ name: 'onex_processor_records_in_total', help: 'Input records a processor committed', labelNames: ['processor'], registers }));
    this.recordsOut = metric(registry, 'onex_processor_records_out_total', () => new client.Counter({ name: 'onex_processor_records_out_total', help: 'Records a processor emitted and committed (changelog records not counted)', labelNames: ['processor'], registers }));
    this.late = metric(registry, 'onex_processor_late_events_total', () => new client.Counter({ name: 'onex_processor_late_events_total', help: 'Events behind their partition watermark, by what was done with them', labelNames: ['processor', 'policy'], registers }));
    this.transactions = metric(registry, 'onex_processor_transactions_total', () => new client.Counter({ name: 'onex_processor_transactions_total', help: 'Kafka transactions of a processor, by result (commit, abort)', labelNames: ['processor', 'result'], registers }));
    this.evictions = metric(registry, 'onex_processor_state_evictions_total', () => new client.Counter({ name: 'onex_processor_state_evictions_total', help: 'State keys removed by a bound, by store and reason (lru, ttl)', labelNames: ['processor', 'store', 'reason'], registers }));
    this.timersFired = metric(registry, 'onex_processor_timers_fired_total', () => new client.Counter({ name: 'onex_processor_timers_fired_total', help: 'Timers fired by the watermark', labelNames: ['processor'], registers }));
    this.stateEntries = metric(registry, 'onex_processor_state_entries', () => new client.Gauge({ name: 'onex_processor_state_entries', help: 'Keys in the state of a partition', labelNames: ['processor', 'partition'], registers }));
    this.lag = metric(registry, 'onex_processor_lag', () => new client.Gauge({ name: 'onex_processor_lag', help: 'Records behind the high watermark after the last committed batch', labelNames: ['processor', 'partition'], registers }));
    this.restoreSeconds = metric(registry, 'onex_processor_restore_seconds', () => new client.Histogram({ name: 'onex_processor_restore_seconds', help: 'Time to restore the state of the partitions of one assignment from the changelog', labelNames: ['processor'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers }));
  }

  committed(recordsIn: number, recordsOut: number, late: number, policy: string, timers: number): void {
    const p = this.processor;
    if (recordsIn) this.recordsIn.inc({ processor: p }, recordsIn);
    if (recordsOut) this.recordsOut.inc({ processor: p }, recordsOut);
    if (late) this.late.inc({ processor: p, policy }, late);
    if (timers) this.timersFired.inc({ processor: p }, timers);
    this.transactions.inc({ processor: p, result: 'commit' });
  }

  aborted(): void {
    this.transactions.inc({ processor: this.processor, result: 'abort' });
  }

  evicted(store: string, reason: EvictionReason): void {
    this.evictions.inc({ processor: this.processor, store, reason });
  }

  partition(partition: number, entries: number, lag: number | undefined): void {
    this.stateEntries.set({ processor: this.processor, partition: String(partition) }, entries);
    if (lag !== undefined) this.lag.set({ processor: this.processor, partition: String(partition) }, Math.max(0, lag));
  }

  dropPartition(partition: number): void {
    this.stateEntries.remove({ processor: this.processor, partition: String(partition) });
    this.lag.remove({ processor: this.processor, partition: String(partition) });
  }
}
