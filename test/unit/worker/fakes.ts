import type { FlagSet } from '../../../src/flags/index.js';
import { randomUUID } from 'node:crypto';
import type { Message } from 'kafkajs';
import { Registry } from 'prom-client';
import { onexError, type OnexCode, type SchemaVersion } from '../../../src/event/index.js';
import { logger, type Logger } from '../../../src/logging/index.js';
import {
  DEFAULT_RETRY_POLICY,
  HandlerRouter,
  RecordProcessor,
  WorkerMetrics,
  type DecodedEvent,
  type EventDecoder,
  type HandlerMap,
  type ProcessControl,
  type RecordFailure,
  type RecordProcessorOptions,
  type RetryPolicy,
  type SourceRecord,
} from '../../../src/worker/index.js';

/** A 2.0.0 event that passes strict validation. */
export function eventV2(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: randomUUID(),
    timestamp: '2025-05-25T14:17:21.178483Z',
    node_id: 'stamper_node-001',
    event_type: 'NODE_START',
    schema_version: '2.0.0',
    correlation_id: null,
    parent_correlation_id: null,
    trace: null,
    error: null,
    sample_rate: 1,
    replay: null,
    security: null,
    metadata: { input_state: { file: 'a.py' }, node_version: null, operation_type: null, extra: null },
    ...overrides,
  };
}

/**
 * Stands in for OnexEventCodec in unit tests: a record value is JSON { writer, event } or { fail: code } (the decode
 * failure that codec would raise), after a 0x00 byte; any other first byte is the codec's ONEX_EVENT_604.
 */
export class FakeDecoder implements EventDecoder {
  calls = 0;
  /** Failures to raise before decoding succeeds, by event id (for retriable decode failures such as REG_206). */
  transient = new Map<string, { code: OnexCode; times: number }>();

  /** Set with `sync`: like OnexEventCodec's, it answers without a promise, or undefined while a failure is pending. */
  decodeSync?: (value: Buffer, targetVersion: SchemaVersion) => DecodedEvent | undefined;

  constructor(sync = false) {
    if (sync) {
      this.decodeSync = (value, targetVersion) => {
        const id = value[0] === 0 ? (JSON.parse(value.subarray(1).toString('utf8')) as { event?: { event_id?: unknown } }).event?.event_id : undefined;
        if ((this.transient.get(String(id))?.times ?? 0) > 0) return undefined; // as a writer schema still to be fetched
        return this.decodeNow(value, targetVersion);
      };
    }
  }

  async decode(value: Buffer, targetVersion: SchemaVersion): Promise<DecodedEvent> {
    return this.decodeNow(value, targetVersion);
  }

  private decodeNow(value: Buffer, targetVersion: SchemaVersion): DecodedEvent {
    this.calls++;
    if (value[0] !== 0) throw onexError('ONEX_EVENT_604', 'not the wire format');
    const body = JSON.parse(value.subarray(1).toString('utf8')) as { writer?: SchemaVersion; event?: Record<string, unknown>; fail?: OnexCode };
    if (body.fail) throw onexError(body.fail, `fake decode failure ${body.fail}`);
    const t = this.transient.get(String(body.event?.event_id));
    if (t && t.times > 0) {
      t.times--;
      throw onexError(t.code, 'transient');
    }
    return { event: { ...body.event, schema_version: targetVersion }, writerVersion: body.writer ?? '2.0.0', schemaId: 7 };
  }
}

export function encodeFake(event: Record<string, unknown>, writer: SchemaVersion = '2.0.0'): Buffer {
  return Buffer.concat([Buffer.from([0]), Buffer.from(JSON.stringify({ writer, event }))]);
}

export function encodeFailure(code: OnexCode): Buffer {
  return Buffer.concat([Buffer.from([0]), Buffer.from(JSON.stringify({ fail: code }))]);
}

export function record(value: Buffer | null, offset = '0'): SourceRecord {
  return { topic: 'onex.events', partition: 0, offset, key: Buffer.from('k'), value, headers: { traceparent: 'tp' } };
}

export class FakeSink {
  sent: Array<{ topic: string; message: Message }> = [];
  failuresLeft = 0;
  async send(topic: string, message: Message): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('broker unavailable');
    }
    this.sent.push({ topic, message });
  }
}

export class FakeControl implements ProcessControl {
  waits: number[] = [];
  stop = false;
  /** Stop the worker once this many waits happened. */
  stopAfterWaits = Infinity;
  async heartbeat(): Promise<void> {}
  async wait(ms: number): Promise<boolean> {
    this.waits.push(ms);
    if (this.waits.length >= this.stopAfterWaits) this.stop = true;
    return !this.stop;
  }
  stopping(): boolean {
    return this.stop;
  }
}

/** What rig() builds unless told otherwise: the record processor tests run once with each kind of decoder. */
export const rigDefaults = { syncDecoder: false };

export interface Rig {
  processor: RecordProcessor;
  decoder: FakeDecoder;
  sink: FakeSink;
  registry: Registry;
  metrics: WorkerMetrics;
  failures: RecordFailure[];
}

export function rig(
  handlers: HandlerMap,
  opts: { flags?: FlagSet; retry?: Partial<RetryPolicy>; validation?: 'strict' | 'non-strict' | 'off'; deadLetter?: boolean; deprecated?: SchemaVersion[]; target?: SchemaVersion; log?: Logger; onFailure?: (f: RecordFailure) => void; stages?: RecordProcessorOptions['stages']; profileAs?: string } = {},
): Rig {
  const registry = new Registry();
  const metrics = new WorkerMetrics(registry);
  const decoder = new FakeDecoder(rigDefaults.syncDecoder);
  const sink = new FakeSink();
  const failures: RecordFailure[] = [];
  const processor = new RecordProcessor({
    decoder,
    router: new HandlerRouter(handlers),
    targetVersion: opts.target ?? '2.0.0',
    validation: opts.validation ?? 'strict',
    retry: { ...DEFAULT_RETRY_POLICY, jitter: 0, ...opts.retry },
    deadLetter: opts.deadLetter === false ? undefined : { topicFor: (t) => `${t}.dlq`, sink },
    deadLetterBackoff: { initialMs: 10, multiplier: 2, maxMs: 40, jitter: 0 },
    groupId: 'g1',
    metrics,
    deprecatedVersions: new Set(opts.deprecated ?? []),
    log: opts.log ?? logger('worker-test'),
    onFailure: opts.onFailure ?? ((f) => failures.push(f)),
    ...(opts.flags ? { flags: opts.flags } : {}),
    ...(opts.stages ? { stages: opts.stages } : {}),
    ...(opts.profileAs ? { profileAs: opts.profileAs } : {}),
  });
  return { processor, decoder, sink, registry, metrics, failures };
}

/** The value of one metric series, 0 when absent. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const data = await m.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, val]) => String((v.labels as Record<string, unknown>)[k]) === val) && !('le' in v.labels));
  return hit?.value ?? 0;
}
