import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { OnexEventCodec, registryFromUrl } from '../codec/index.js';
import { asOnexError, isOnexError, onexError, type OnexError } from '../errors/index.js';
import { nowTimestamp, parseVersion, validateEvent, type SchemaVersion } from '../event/index.js';
import { transformEvent } from '../schema/index.js';
import { logger, type Logger } from '../telemetry/logger.js';
import { Batcher, type Batch, type Lane, type PendingRecord } from './batcher.js';
import { ProducerBuffer } from './buffer.js';
import { compressionLabel, eventTypeLabel, ProducerMetrics } from './metrics.js';
import { parseProducerSettings, type EventEncoder, type OnexProducerOptions, type ProducerSettings } from './options.js';
import { Sampler } from './sampler.js';
import { createProducerKafka, KafkaSender, type SendReport } from './sender.js';
import { carriesError, flowKeyOf, traceparentOf } from './trace-context.js';

export type EmitResult =
  /** Kafka acknowledged the event (acks=all). */
  | { readonly status: 'sent'; readonly eventId: string; readonly sampleRate: number; /** Encoded record bytes (value, key, headers). */ readonly bytes: number }
  /** Sampling dropped the event; it was valid and never reached Kafka. */
  | { readonly status: 'sampled_out'; readonly eventId: string; readonly sampleRate: number };

/** Record framing next to value, key and headers: length, attributes, deltas, header names (an upper bound). */
const RECORD_OVERHEAD = 64;
const HEADER_EVENT_TYPE = 'onex-event-type';
const HEADER_SCHEMA_VERSION = 'onex-schema-version';
const HEADER_TRACEPARENT = 'traceparent';

/** Versions that have the field, by field (an event of an older version must not carry it). */
function since(version: SchemaVersion, minimum: string): boolean {
  const v = parseVersion(version)!;
  const m = parseVersion(minimum)!;
  return v.major !== m.major ? v.major > m.major : v.minor >= m.minor;
}

function formatBytes(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(n % 1_000_000 === 0 ? 0 : 2)} MB`;
  if (n >= 1_000) return `${(n / 1_000).toFixed(n % 1_000 === 0 ? 0 : 1)} KB`;
  return `${n} bytes`;
}

/** One accepted event on its way to Kafka: the record kafkajs sends, and how to tell the emitter the outcome. */
class OutgoingEvent implements PendingRecord {
  acceptedAt = 0;
  resolve: ((result: EmitResult) => void) | undefined;
  reject: ((error: OnexError) => void) | undefined;

  constructor(
    readonly key: Buffer,
    readonly keyText: string,
    readonly value: Buffer,
    readonly headers: Record<string, Buffer>,
    readonly bytes: number,
    readonly eventType: string,
    readonly eventId: string,
    readonly sampleRate: number,
    readonly lane: Lane,
    /** The caller's object, for failure reports. */
    readonly input: object,
    private readonly onSettled: (event: OutgoingEvent, error: OnexError | undefined) => void,
  ) {}

  settle(error: OnexError | undefined): void {
    this.onSettled(this, error);
  }
}

interface SampledOut {
  readonly sampledOut: true;
  readonly eventId: string;
  readonly sampleRate: number;
  readonly eventType: string;
}
type PrepareOutcome = OutgoingEvent | SampledOut;

/**
 * The ONEX producer SDK: emit(event) fills event_id and timestamp, validates, samples, encodes (Avro, Confluent wire
 * format, writer schema registered once at start), checks the size, batches (two lanes: plain and LZ4) and sends
 * with an idempotent kafkajs producer (acks=all, key = correlation_id or event_id, headers traceparent,
 * onex-event-type, onex-schema-version).
 *
 * onFailure(listener) hears of every event that does not reach Kafka, whichever way it was emitted.
 */
export class OnexProducer {
  readonly settings: ProducerSettings;
  readonly sampler: Sampler;
  readonly metrics: ProducerMetrics;
  private readonly codec: EventEncoder;
  private readonly sender: KafkaSender;
  private readonly buffer: ProducerBuffer;
  private readonly batcher: Batcher;
  private readonly log: Logger;
  private readonly onError: OnexProducerOptions['onError'];
  private readonly version: SchemaVersion;
  private readonly writesSampleRate: boolean;
  private readonly writesSchemaVersion: boolean;
  private readonly typeHeaders = new Map<string, Buffer>();
  private readonly versionHeader: Buffer;
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private pumping = false;
  private settledSeq = 0;
  private readonly flushWaiters: Array<{ seq: number; resolve: () => void }> = [];
  /** Emits waiting for buffer space; close() lets them in before it finishes. */
  private blocked = 0;
  private readonly blockedDone: Array<() => void> = [];

  private readonly failureListeners = new Set<(error: OnexError, event: object) => void>();

  constructor(options: OnexProducerOptions) {
    this.settings = parseProducerSettings(options);
    const codec = options.codec ?? (options.registry ? new OnexEventCodec({ registry: typeof options.registry === 'string' ? registryFromUrl(options.registry) : options.registry }) : undefined);
    if (!codec || typeof codec.encode !== 'function' || typeof codec.prepare !== 'function') {
      throw onexError('ONEX_RT_407', 'invalid producer option registry: a schema registry (client or URL) or a codec with prepare(version) and encode(event, version) is needed');
    }
    if (!options.kafka) throw onexError('ONEX_RT_407', 'invalid producer option kafka: a kafkajs client or a Kafka configuration is needed');
    const kafka: Kafka = typeof (options.kafka as Kafka).producer === 'function' ? (options.kafka as Kafka) : createProducerKafka(options.kafka as Parameters<typeof createProducerKafka>[0]);
    const s = this.settings;
    this.codec = codec;
    this.onError = options.onError;
    this.version = s.schemaVersion;
    this.writesSampleRate = since(this.version, '1.2.0');
    this.writesSchemaVersion = since(this.version, '1.1.0');
    this.versionHeader = Buffer.from(this.version);
    this.log = logger('producer');
    this.sampler = new Sampler(s.sampling);
    this.metrics = new ProducerMetrics(options.metricsRegistry);
    this.buffer = new ProducerBuffer(s.buffer.maxBytes, s.buffer.blockTimeoutMs, (used) => this.metrics.setBuffered(used));
    this.batcher = new Batcher(s.batch, () => this.pump());
    this.sender = new KafkaSender(kafka, { topic: s.topic, ackTimeoutMs: s.ackTimeoutMs, deliveryTimeoutMs: s.deliveryTimeoutMs }, this.log);
  }

  /** Registers the writer schema (its id is cached by the codec) and connects to Kafka. Safe to call again. */
  start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(this.closedError());
    this.starting ??= (async () => {
      this.state = 'starting';
      try {
        await this.codec.prepare(this.version);
        await this.sender.connect();
        this.state = 'running';
        this.log.debug({ topic: this.settings.topic, version: this.version, sampler: this.sampler.toString() }, 'producer started');
      } catch (err) {
        this.starting = undefined;
        this.state = 'new';
        throw asOnexError(err, 'ONEX_EVENT_600');
      }
    })();
    return this.starting;
  }

  /** Hears of every event that fails (validation, size, buffer, delivery), emitted either way. Returns the unsubscribe. */
  onFailure(listener: (error: OnexError, event: object) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** The schema version this producer writes. */
  get schemaVersion(): SchemaVersion {
    return this.version;
  }

  /** Bytes accepted and not yet acknowledged or failed. */
  get bufferedBytes(): number {
    return this.buffer.usedBytes;
  }

  /**
   * Emits one event. Resolves when Kafka acknowledged it (or at once when sampling dropped it); rejects with an
   * OnexError: ONEX_VALID_1xx (strict validation), ONEX_EVENT_602 (too large), 603 (does not fit the schema),
   * 608 (buffer full under the overflow policy), 609 (closed), 612 (not acknowledged in time), 600 (Kafka refused).
   */
  emit(event: object): Promise<EmitResult> {
    if (this.state !== 'running') {
      if (this.state === 'closing' || this.state === 'closed') return this.failEarly(this.closedError(), event);
      return this.start().then(() => this.emit(event));
    }
    let prepared: PrepareOutcome;
    try {
      prepared = this.prepare(event);
    } catch (err) {
      return this.failEarly(asOnexError(err, 'ONEX_EVENT_603'), event);
    }
    if ('sampledOut' in prepared) {
      this.metrics.sampledOut.inc({ event_type: prepared.eventType });
      return Promise.resolve({ status: 'sampled_out', eventId: prepared.eventId, sampleRate: prepared.sampleRate });
    }
    const outgoing = prepared;
    return new Promise<EmitResult>((resolve, reject) => {
      outgoing.resolve = resolve;
      outgoing.reject = reject;
      this.enqueue(outgoing, false);
    });
  }

  /**
   * Fire and forget: emit() without waiting. Every failure still reaches the onError option (or the log when there
   * is none), the 'failed' event and onex_events_failed_total. A caller that does not wait cannot be slowed down, so
   * when the buffer is full the event fails at once with ONEX_EVENT_608 whatever the overflow policy: holding it
   * would make memory unbounded.
   */
  emitAndForget(event: object): void {
    if (this.state !== 'running') {
      if (this.state === 'closing' || this.state === 'closed') {
        this.reportDetached(this.closedError(), event);
        return;
      }
      this.start().then(
        () => this.emitAndForget(event),
        (err: unknown) => this.reportDetached(asOnexError(err, 'ONEX_EVENT_600'), event),
      );
      return;
    }
    let prepared: PrepareOutcome;
    try {
      prepared = this.prepare(event);
    } catch (err) {
      this.reportDetached(asOnexError(err, 'ONEX_EVENT_603'), event);
      return;
    }
    if ('sampledOut' in prepared) {
      this.metrics.sampledOut.inc({ event_type: prepared.eventType });
      return;
    }
    this.enqueue(prepared, true);
  }

  /** Resolves when every event accepted before the call is acknowledged or failed. */
  async flush(): Promise<void> {
    const seq = this.batcher.sealAll();
    if (seq <= this.settledSeq) return;
    await new Promise<void>((resolve) => this.flushWaiters.push({ seq, resolve }));
  }

  /**
   * Stops accepting events (ONEX_EVENT_609), lets in the emits already waiting for buffer space, delivers everything
   * accepted, and disconnects. Safe to call again.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const wasRunning = this.state === 'running' || this.state === 'starting';
      if (this.state === 'starting') await this.starting?.catch(() => undefined);
      this.state = 'closing';
      if (wasRunning) {
        while (this.blocked > 0) await new Promise<void>((r) => this.blockedDone.push(r));
        await this.flush();
      }
      await this.sender.disconnect();
      this.state = 'closed';
    })();
    return this.closing;
  }

  // ---- the path of one event ----

  private prepare(input: object): PrepareOutcome {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw onexError('ONEX_VALID_104', `an event must be an object, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`);
    }
    let event: Record<string, unknown> = { ...(input as Record<string, unknown>) };
    if (event.event_id === undefined || event.event_id === null) event.event_id = randomUUID();
    if (event.timestamp === undefined || event.timestamp === null) event.timestamp = nowTimestamp();
    event = this.toWrittenVersion(event);

    const mode = this.settings.validation;
    const result = validateEvent(event, { mode });
    const eventType = eventTypeLabel(event.event_type);
    if (!result.valid) {
      for (const e of result.errors) this.metrics.validationIssues.inc({ event_type: eventType, code: e.code });
      this.log.warn({ event_id: event.event_id, violations: result.errors.map((e) => `${e.code} ${e.details?.path}: ${e.message}`) }, 'event violates the ONEX standard; sending it anyway (non-strict)');
    }

    const prior = typeof event.sample_rate === 'number' ? event.sample_rate : undefined;
    const decision = this.sampler.decide({
      eventType: String(event.event_type),
      flowKey: flowKeyOf(event),
      eventId: String(event.event_id),
      hasError: carriesError(event),
      priorRate: prior,
    });
    if (!decision.keep) return { sampledOut: true, eventId: String(event.event_id), sampleRate: decision.rate, eventType };
    if (this.writesSampleRate && (decision.rate !== 1 || prior !== undefined)) event.sample_rate = decision.rate;

    const value = this.codec.encode(event, this.version);
    const eventId = String(event.event_id);
    const keyText = typeof event.correlation_id === 'string' && event.correlation_id !== '' ? event.correlation_id : eventId;
    const key = Buffer.from(keyText, 'utf8');
    const headers: Record<string, Buffer> = {
      [HEADER_EVENT_TYPE]: this.typeHeader(String(event.event_type)),
      [HEADER_SCHEMA_VERSION]: this.versionHeader,
    };
    const traceparent = traceparentOf(event);
    let headerBytes = HEADER_EVENT_TYPE.length + headers[HEADER_EVENT_TYPE]!.length + HEADER_SCHEMA_VERSION.length + this.versionHeader.length;
    if (traceparent) {
      headers[HEADER_TRACEPARENT] = Buffer.from(traceparent, 'latin1');
      headerBytes += HEADER_TRACEPARENT.length + traceparent.length;
    }
    const size = value.length + key.length + headerBytes;
    const limit = this.settings.maxEventBytes;
    if (size > limit) {
      throw onexError('ONEX_EVENT_602', `event ${eventId} is ${formatBytes(size)} (${size} bytes) encoded, over the ${formatBytes(limit)} (${limit} bytes) limit; split its metadata or store the payload elsewhere and reference it`, {
        details: { eventId, sizeBytes: size, limitBytes: limit, eventType },
      });
    }
    const lane: Lane = this.settings.compression.enabled && value.length > this.settings.compression.thresholdBytes ? 'lz4' : 'plain';
    this.metrics.recordSize(lane, value.length);
    return new OutgoingEvent(key, keyText, value, headers, size + RECORD_OVERHEAD, eventType, eventId, decision.rate, lane, input, this.settled);
  }

  /** Fills schema_version with the written version, or converts an event written against another version. */
  private toWrittenVersion(event: Record<string, unknown>): Record<string, unknown> {
    const declared = event.schema_version;
    if (declared === undefined || declared === null) {
      if (this.writesSchemaVersion) event.schema_version = this.version;
      return event;
    }
    if (declared === this.version || typeof declared !== 'string') return event; // else validation names the problem
    const d = parseVersion(declared);
    const w = parseVersion(this.version)!;
    if (!d || (d.major === w.major && d.minor === w.minor)) return event;
    try {
      return { ...(transformEvent(event, this.version) as unknown as Record<string, unknown>) };
    } catch (err) {
      throw asOnexError(err, 'ONEX_SCHEMA_702', `event ${String(event.event_id)} is schema ${declared} and could not be converted to ${this.version}, the version this producer writes: ${(err as Error).message}`);
    }
  }

  private typeHeader(eventType: string): Buffer {
    let b = this.typeHeaders.get(eventType);
    if (!b) {
      b = Buffer.from(eventType);
      if (this.typeHeaders.size < 64) this.typeHeaders.set(eventType, b);
    }
    return b;
  }

  private enqueue(outgoing: OutgoingEvent, detached: boolean): void {
    if (this.buffer.tryReserve(outgoing.bytes)) {
      this.admit(outgoing);
      return;
    }
    if (detached || this.settings.buffer.overflow === 'reject') {
      outgoing.settle(this.buffer.fullError(outgoing.bytes, detached ? 'a fire-and-forget emit does not wait' : 'the overflow policy is reject'));
      return;
    }
    this.blocked++;
    this.buffer
      .reserve(outgoing.bytes)
      .then(
        () => this.admit(outgoing),
        (error: OnexError) => outgoing.settle(error),
      )
      .finally(() => {
        this.blocked--;
        if (this.blocked === 0) for (const r of this.blockedDone.splice(0)) r();
      });
  }

  private admit(outgoing: OutgoingEvent): void {
    outgoing.acceptedAt = Date.now();
    this.batcher.add(outgoing, outgoing.lane);
  }

  /** Every outcome of an accepted or refused OutgoingEvent comes through here, once. */
  private readonly settled = (outgoing: OutgoingEvent, error: OnexError | undefined): void => {
    if (error) {
      this.failed(error, outgoing.eventType, outgoing.input);
      if (outgoing.reject) outgoing.reject(error);
      else this.reportDetached(error, outgoing.input, false);
    } else if (outgoing.resolve) {
      outgoing.resolve({ status: 'sent', eventId: outgoing.eventId, sampleRate: outgoing.sampleRate, bytes: outgoing.bytes - RECORD_OVERHEAD });
    }
  };

  // ---- the sending side ----

  private readonly report: SendReport = {
    settled: (records, error) => {
      let bytes = 0;
      if (error) {
        for (const r of records) {
          bytes += r.bytes;
          r.settle(error);
        }
      } else {
        let runType = '';
        let run = 0;
        for (const r of records) {
          bytes += r.bytes;
          if (r.eventType !== runType) {
            if (run) this.metrics.recordEmitted(runType, run);
            runType = r.eventType;
            run = 0;
          }
          run++;
          r.settle(undefined);
        }
        if (run) this.metrics.recordEmitted(runType, run);
      }
      this.buffer.release(bytes);
    },
    sent: (batch: Batch, records: number, bytes: number, seconds: number) => {
      const c = compressionLabel(batch.lane);
      this.metrics.batchEvents.observe({ compression: c }, records);
      this.metrics.batchBytes.observe({ compression: c }, bytes);
      this.metrics.sendDuration.observe({ compression: c }, seconds);
    },
  };

  /** Sends sealed batches one at a time, in sealing order (see KafkaSender for why one at a time). */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void (async () => {
      try {
        for (let batch = this.batcher.take(); batch; batch = this.batcher.take()) {
          await this.sender.deliver(batch, this.report);
          this.settledSeq = batch.seq;
          this.wakeFlushWaiters();
        }
      } catch (err) {
        // deliver() settles every record itself; reaching this is a bug, and it must not stall the producer silently.
        this.log.error({ err }, 'producer send loop failed');
      } finally {
        this.pumping = false;
        if (this.batcher.sealedCount > 0) this.pump();
      }
    })();
  }

  private wakeFlushWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    for (let i = this.flushWaiters.length - 1; i >= 0; i--) {
      const w = this.flushWaiters[i]!;
      if (w.seq <= this.settledSeq) {
        this.flushWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  // ---- failures ----

  private failed(error: OnexError, eventType: string, event: object): void {
    this.metrics.failed.inc({ event_type: eventType, code: error.code });
    for (const listener of this.failureListeners) {
      try {
        listener(error, event);
      } catch (err) {
        this.log.error({ err }, 'a failure listener threw');
      }
    }
  }

  private failEarly(error: OnexError, event: object): Promise<never> {
    this.failed(error, eventTypeLabel((event as { event_type?: unknown } | null)?.event_type), event);
    return Promise.reject(error);
  }

  private reportDetached(error: OnexError, event: object, count = true): void {
    if (count) this.failed(error, eventTypeLabel((event as { event_type?: unknown } | null)?.event_type), event);
    if (this.onError) {
      try {
        this.onError(error, event);
      } catch (err) {
        this.log.error({ err }, 'the onError callback threw');
      }
    } else {
      this.log.error({ code: error.code, event_id: (event as { event_id?: unknown } | null)?.event_id }, error.message);
    }
  }

  private closedError(): OnexError {
    return onexError('ONEX_EVENT_609', `the producer for ${this.settings.topic} is closed; create a new one to emit more events`);
  }
}

export function isRetriableEmitError(err: unknown): boolean {
  return isOnexError(err) && err.retriable;
}
