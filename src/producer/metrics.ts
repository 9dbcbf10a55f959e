import client, { type Counter, type Gauge, type Histogram, type Registry } from 'prom-client';
import { registerSeamMetrics } from '../kafka/index.js';
import { registerSchemaEngineMetrics } from '../codec/index.js';
import { countingHistogram } from '../telemetry/internal.js';
import type { LabelledHistogram, Observe } from '../telemetry/types.js';
import type { Lane } from './batcher.js';

/**
 * Producer metrics under the ONEX dashboard names where they fit (onex_events_emitted_total, onex_events_failed_total,
 * onex_event_size_bytes). Labels stay bounded: event_type is one of the known types or UNKNOWN (eventTypeLabel), code one of the ONEX
 * codes, compression 'none' or 'lz4'. Several producers in one process share the series of one registry.
 */

export function compressionLabel(lane: Lane): 'none' | 'lz4' {
  return lane === 'lz4' ? 'lz4' : 'none';
}

const SIZE_BUCKETS = [128, 256, 512, 1024, 2048, 4096, 8192, 10240, 16384, 65536, 262144, 1048576];
const BATCH_EVENT_BUCKETS = [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000];
const BATCH_BYTE_BUCKETS = [1024, 16384, 65536, 262144, 524288, 1048576, 4194304];
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export class ProducerMetrics {
  readonly emitted: Counter<'event_type' | 'schema_version'>;
  readonly failed: Counter<'event_type' | 'code'>;
  readonly sampledOut: Counter<'event_type' | 'schema_version'>;
  readonly validationIssues: Counter<'event_type' | 'code'>;
  /** Observed once per event: counted in plain arrays (see CountingHistogram), not through prom-client's observe(). */
  readonly eventSize: LabelledHistogram;
  readonly batchEvents: Histogram<'compression'>;
  readonly batchBytes: Histogram<'compression'>;
  readonly sendDuration: Histogram<'compression'>;
  readonly bufferedBytes: Gauge;
  private readonly emittedByType = new Map<string, Counter.Internal>();
  private readonly sizeByLane: Record<Lane, Observe>;
  private buffered = 0;

  /**
   * `schemaVersion` is the version this producer writes: the emitted and sampled-out counts carry it, so dashboards
   * show how much of each version is produced (one producer writes one version, so the label stays bounded).
   */
  constructor(
    registry: Registry = client.register,
    readonly schemaVersion = 'unknown',
  ) {
    const registers = [registry];
    registerSeamMetrics(registry);
    registerSchemaEngineMetrics(registry);
    this.emitted = metric(registry, 'onex_events_emitted_total', () =>
      new client.Counter({ name: 'onex_events_emitted_total', help: 'ONEX events the producer delivered to Kafka (acknowledged, acks=all), by event type and the schema version written', labelNames: ['event_type', 'schema_version'], registers }),
    );
    this.failed = metric(registry, 'onex_events_failed_total', () =>
      new client.Counter({ name: 'onex_events_failed_total', help: 'ONEX events the producer could not deliver, by ONEX error code', labelNames: ['event_type', 'code'], registers }),
    );
    this.sampledOut = metric(registry, 'onex_events_sampled_out_total', () =>
      new client.Counter({ name: 'onex_events_sampled_out_total', help: 'ONEX events dropped by sampling (re-weight kept events by 1/sample_rate), by event type and schema version', labelNames: ['event_type', 'schema_version'], registers }),
    );
    this.validationIssues = metric(registry, 'onex_event_validation_issues_total', () =>
      new client.Counter({ name: 'onex_event_validation_issues_total', help: 'Validation violations a non-strict producer let through, by ONEX_VALID code', labelNames: ['event_type', 'code'], registers }),
    );
    this.eventSize = countingHistogram(registry, { name: 'onex_event_size_bytes', help: 'Encoded size of accepted ONEX events (wire format, before batch compression)', labelName: 'compression', buckets: SIZE_BUCKETS });
    this.batchEvents = metric(registry, 'onex_producer_batch_events', () =>
      new client.Histogram({ name: 'onex_producer_batch_events', help: 'Events per batch the producer sent', labelNames: ['compression'], buckets: BATCH_EVENT_BUCKETS, registers }),
    );
    this.batchBytes = metric(registry, 'onex_producer_batch_bytes', () =>
      new client.Histogram({ name: 'onex_producer_batch_bytes', help: 'Bytes per batch the producer sent, before compression', labelNames: ['compression'], buckets: BATCH_BYTE_BUCKETS, registers }),
    );
    this.sendDuration = metric(registry, 'onex_producer_send_duration_seconds', () =>
      new client.Histogram({ name: 'onex_producer_send_duration_seconds', help: 'From handing a batch to Kafka to its acknowledgement, retries included', labelNames: ['compression'], buckets: LATENCY_BUCKETS, registers }),
    );
    this.bufferedBytes = metric(registry, 'onex_producer_buffered_bytes', () =>
      new client.Gauge({ name: 'onex_producer_buffered_bytes', help: 'Bytes of accepted events not yet acknowledged or failed', registers }),
    );
    this.sizeByLane = { plain: this.eventSize.labels('none'), lz4: this.eventSize.labels('lz4') };
  }

  recordSize(lane: Lane, bytes: number): void {
    this.sizeByLane[lane].observe(bytes);
  }

  recordSampledOut(eventType: string): void {
    this.sampledOut.inc({ event_type: eventType, schema_version: this.schemaVersion });
  }

  recordEmitted(eventType: string, n = 1): void {
    let child = this.emittedByType.get(eventType);
    if (!child) {
      child = this.emitted.labels({ event_type: eventType, schema_version: this.schemaVersion });
      this.emittedByType.set(eventType, child);
    }
    child.inc(n);
  }

  /** This producer's share of the shared gauge: moves it by the change, so producers add up. */
  setBuffered(bytes: number): void {
    const delta = bytes - this.buffered;
    this.buffered = bytes;
    if (delta !== 0) this.bufferedBytes.inc(delta);
  }
}
