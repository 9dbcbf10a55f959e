import client, { type Counter, type Gauge, type Registry } from 'prom-client';
import { eventTypeLabel, SCHEMA_VERSIONS, type SchemaVersion } from '../event/index.js';
import { registerSeamMetrics } from '../kafka/index.js';
import { registerSchemaEngineMetrics } from '../codec/index.js';
import { countingHistogram } from '../telemetry/internal.js';
import type { LabelledHistogram, Observe } from '../telemetry/types.js';

/**
 * The worker's Prometheus metrics. Every label has a closed set of values: event types come from the ONEX list
 * (anything else is counted as UNKNOWN), versions from SCHEMA_VERSIONS, codes from the ONEX registry, partitions from
 * the topic. No label carries an event id, a key or a correlation id.
 *
 * Several workers in one process share one registry: a metric that already exists there is reused, not registered
 * twice (prom-client would throw).
 *
 * Counters are counted in plain numbers on the per-record path and handed to prom-client when it collects (every
 * scrape, every get()), and when the worker stops: prom-client hashes the label set on every inc(), which at tens of
 * thousands of records a second was about a microsecond per record.
 */
export type ProcessedStatus = 'handled' | 'unhandled' | 'dead_lettered' | 'dropped';

const KNOWN_VERSIONS = new Set<string>(SCHEMA_VERSIONS);

export function versionLabel(version: unknown): string {
  return typeof version === 'string' && KNOWN_VERSIONS.has(version) ? version : 'unknown';
}

/** Handler latencies: a no-op handler is tens of microseconds, a real one can take seconds. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The WorkerMetrics whose pending counts a counter collects, by counter. */
const pendingSources = new WeakMap<object, Set<WorkerMetrics>>();

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  const created: Counter<string> = new client.Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const source of pendingSources.get(created) ?? []) source.flush();
    },
  });
  pendingSources.set(created, new Set());
  return created;
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[]): Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<string>;
  return new client.Gauge({ name, help, labelNames, registers: [registry] });
}

/** One label set of one counter: counted here, handed to prom-client by flush(). */
interface Cell {
  metric: Counter<string>;
  labels: Record<string, string>;
  n: number;
}

export class WorkerMetrics {
  readonly registry: Registry;
  readonly processed: Counter<string>;
  readonly writerVersions: Counter<string>;
  readonly deprecatedUse: Counter<string>;
  readonly latency: LabelledHistogram;
  readonly errors: Counter<string>;
  readonly deadLetters: Counter<string>;
  readonly unknownTypes: Counter<string>;
  readonly lag: Gauge<string>;
  private readonly cells = new Map<Counter<string>, Map<string | undefined, Map<string | undefined, Cell>>>();
  private readonly allCells: Cell[] = [];
  private readonly observeCache = new Map<string, Observe>();

  constructor(registry: Registry = client.register) {
    this.registry = registry;
    registerSeamMetrics(registry);
    registerSchemaEngineMetrics(registry);
    this.processed = counter(registry, 'onex_worker_events_processed_total', 'Records the worker finished, by event type and outcome', ['event_type', 'status']);
    this.writerVersions = counter(registry, 'onex_worker_schema_version_total', 'Decoded events by the schema version they were written in', ['version']);
    this.deprecatedUse = counter(registry, 'onex_worker_deprecated_version_total', 'Events written in a schema version marked deprecated', ['version']);
    this.latency = countingHistogram(registry, { name: 'onex_worker_processing_seconds', help: 'Decode, upcast, validate and handle time of one event, by writer schema version', labelName: 'version', buckets: LATENCY_BUCKETS });
    this.errors = counter(registry, 'onex_worker_errors_total', 'Failed attempts, by stage (decode, validate, handle) and ONEX code', ['stage', 'code']);
    this.deadLetters = counter(registry, 'onex_worker_dead_letters_total', 'Records written to the dead-letter topic, by ONEX code', ['code']);
    this.unknownTypes = counter(registry, 'onex_worker_unknown_event_types_total', 'Events whose type this worker does not know (passed to the catch-all)', []);
    this.lag = gauge(registry, 'onex_worker_consumer_lag', 'Records behind the high watermark after the last handled batch', ['topic', 'partition']);
  }

  /** The cell of a label set, by metric and label values, so the per-record path never builds a key string. */
  private cell(metric: Counter<string>, a?: string, b?: string): Cell {
    let byA = this.cells.get(metric);
    if (!byA) this.cells.set(metric, (byA = new Map()));
    let byB = byA.get(a);
    if (!byB) byA.set(a, (byB = new Map()));
    let c = byB.get(b);
    if (!c) {
      const names = (metric as unknown as { labelNames: string[] }).labelNames;
      const labels: Record<string, string> = {};
      if (a !== undefined) labels[names[0]!] = a;
      if (b !== undefined) labels[names[1]!] = b;
      c = { metric, labels, n: 0 };
      byB.set(b, c);
      this.allCells.push(c);
      // A counter someone else registered under our name has no collect hook of ours: such cells are flushed at once.
      pendingSources.get(metric)?.add(this);
    }
    return c;
  }

  private count(metric: Counter<string>, a?: string, b?: string): void {
    const c = this.cell(metric, a, b);
    c.n++;
    if (!pendingSources.has(metric)) this.flush();
  }

  /** Hands the pending counts to prom-client. */
  flush(): void {
    for (const c of this.allCells) {
      if (c.n === 0) continue;
      c.metric.inc(c.labels, c.n);
      c.n = 0;
    }
  }

  /** Flushes and stops taking part in collection (a stopped worker counts nothing more). */
  close(): void {
    this.flush();
    for (const metric of this.cells.keys()) pendingSources.get(metric)?.delete(this);
  }

  recordProcessed(eventType: unknown, status: ProcessedStatus): void {
    this.count(this.processed, eventTypeLabel(eventType), status);
  }

  recordWriterVersion(version: SchemaVersion): void {
    this.count(this.writerVersions, versionLabel(version));
  }

  recordDeprecated(version: SchemaVersion): void {
    this.count(this.deprecatedUse, versionLabel(version));
  }

  recordLatency(version: SchemaVersion, seconds: number): void {
    const label = versionLabel(version);
    let o = this.observeCache.get(label);
    if (!o) {
      o = this.latency.labels(label);
      this.observeCache.set(label, o);
    }
    o.observe(seconds);
  }

  recordError(stage: string, code: string): void {
    this.count(this.errors, stage, code);
  }

  recordDeadLetter(code: string): void {
    this.count(this.deadLetters, code);
  }

  recordUnknownType(): void {
    this.count(this.unknownTypes);
  }

  setLag(topic: string, partition: number, lag: number): void {
    this.lag.labels(topic, String(partition)).set(Math.max(0, lag));
  }
}
