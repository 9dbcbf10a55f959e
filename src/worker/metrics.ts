import client, { type Counter, type Gauge, type Histogram, type Registry } from 'prom-client';
import { ALL_EVENT_TYPES, SCHEMA_VERSIONS, UNKNOWN_EVENT_TYPE, type SchemaVersion } from '../event/index.js';

/**
 * The worker's Prometheus metrics. Every label has a closed set of values: event types come from the ONEX list
 * (anything else is counted as UNKNOWN), versions from SCHEMA_VERSIONS, codes from the ONEX registry, partitions from
 * the topic. No label carries an event id, a key or a correlation id.
 *
 * Several workers in one process share one registry: a metric that already exists there is reused, not registered
 * twice (prom-client would throw). Label children are cached because the per-record path asks for them every time.
 */
export type ProcessedStatus = 'handled' | 'unhandled' | 'dead_lettered' | 'dropped';

const KNOWN_TYPES = new Set<string>([...ALL_EVENT_TYPES, UNKNOWN_EVENT_TYPE]);
const KNOWN_VERSIONS = new Set<string>(SCHEMA_VERSIONS);

/** Bounded event-type label: a type outside the ONEX list is UNKNOWN. */
export function eventTypeLabel(type: unknown): string {
  return typeof type === 'string' && KNOWN_TYPES.has(type) ? type : UNKNOWN_EVENT_TYPE;
}

export function versionLabel(version: unknown): string {
  return typeof version === 'string' && KNOWN_VERSIONS.has(version) ? version : 'unknown';
}

/** Handler latencies: a no-op handler is tens of microseconds, a real one can take seconds. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new client.Counter({ name, help, labelNames, registers: [registry] });
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[]): Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<string>;
  return new client.Gauge({ name, help, labelNames, registers: [registry] });
}

function histogram(registry: Registry, name: string, help: string, labelNames: string[]): Histogram<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<string>;
  return new client.Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: [registry] });
}

type Inc = { inc(n?: number): void };
type Observe = { observe(v: number): void };

export class WorkerMetrics {
  readonly registry: Registry;
  readonly processed: Counter<string>;
  readonly writerVersions: Counter<string>;
  readonly deprecatedUse: Counter<string>;
  readonly latency: Histogram<string>;
  readonly errors: Counter<string>;
  readonly deadLetters: Counter<string>;
  readonly unknownTypes: Counter<string>;
  readonly lag: Gauge<string>;
  private readonly children = new Map<Counter<string>, Map<string | undefined, Map<string | undefined, Inc>>>();
  private readonly observeCache = new Map<string, Observe>();

  constructor(registry: Registry = client.register) {
    this.registry = registry;
    this.processed = counter(registry, 'onex_worker_events_processed_total', 'Records the worker finished, by event type and outcome', ['event_type', 'status']);
    this.writerVersions = counter(registry, 'onex_worker_schema_version_total', 'Decoded events by the schema version they were written in', ['version']);
    this.deprecatedUse = counter(registry, 'onex_worker_deprecated_version_total', 'Events written in a schema version marked deprecated', ['version']);
    this.latency = histogram(registry, 'onex_worker_processing_seconds', 'Decode, upcast, validate and handle time of one event, by writer schema version', ['version']);
    this.errors = counter(registry, 'onex_worker_errors_total', 'Failed attempts, by stage (decode, validate, handle) and ONEX code', ['stage', 'code']);
    this.deadLetters = counter(registry, 'onex_worker_dead_letters_total', 'Records written to the dead-letter topic, by ONEX code', ['code']);
    this.unknownTypes = counter(registry, 'onex_worker_unknown_event_types_total', 'Events whose type this worker does not know (passed to the catch-all)', []);
    this.lag = gauge(registry, 'onex_worker_consumer_lag', 'Records behind the high watermark after the last handled batch', ['topic', 'partition']);
  }

  /** Label children by metric and label values, so the per-record path never builds a key string. */
  private child(metric: Counter<string>, a?: string, b?: string): Inc {
    let byA = this.children.get(metric);
    if (!byA) this.children.set(metric, (byA = new Map()));
    let byB = byA.get(a);
    if (!byB) byA.set(a, (byB = new Map()));
    let c = byB.get(b);
    if (!c) {
      c = a === undefined ? metric : b === undefined ? metric.labels(a) : metric.labels(a, b);
      byB.set(b, c);
    }
    return c;
  }

  recordProcessed(eventType: unknown, status: ProcessedStatus): void {
    this.child(this.processed, eventTypeLabel(eventType), status).inc();
  }

  recordWriterVersion(version: SchemaVersion): void {
    this.child(this.writerVersions, versionLabel(version)).inc();
  }

  recordDeprecated(version: SchemaVersion): void {
    this.child(this.deprecatedUse, versionLabel(version)).inc();
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
    this.child(this.errors, stage, code).inc();
  }

  recordDeadLetter(code: string): void {
    this.child(this.deadLetters, code).inc();
  }

  recordUnknownType(): void {
    this.child(this.unknownTypes).inc();
  }

  setLag(topic: string, partition: number, lag: number): void {
    this.lag.labels(topic, String(partition)).set(Math.max(0, lag));
  }
}
