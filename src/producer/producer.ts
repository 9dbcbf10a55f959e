import type { Kafka } from 'kafkajs';
import { connectionFromEnv, registryFromEnv, isKafkaClient, OnexEventCodec, resolveKafkaOption, resolveRegistryOption } from '../codec/index.js';
import type { CheckResult } from '../health/types.js';
import { runningCheck } from '../health/internal.js';
import { asOnexError, isOnexError, OnexError, onexError } from '../errors/index.js';
import { FAST_RECORD } from '../kafka/index.js';
import { flags as processFlags, type FlagSet } from '../flags/index.js';
import { eventTypeLabel, type SchemaVersion } from '../event/index.js';
import { logger } from '../logging/index.js';
import { activeProfiler, activeSpanContext, activeTracer, endSendSpan, noteSendPrepared, type Profiler, startSendSpan } from '../telemetry/internal.js';
import type { Logger } from '../telemetry/types.js';
import { Batcher, type Batch, type KafkaMessage, type Lane, type PendingRecord } from './batcher.js';
import { ProducerBuffer } from './buffer.js';
import { CloudEventHeaders, latin1Header, type HeaderValue } from './cloudevent-headers.js';
import { compressionLabel, ProducerMetrics } from './metrics.js';
import { parseProducerSettings, type EventEncoder, type OnexProducerOptions, type ProducerSettings } from './options.js';
import type { Span } from '@opentelemetry/api';
import { type Begun, EventPreparer, HEADER_EVENT_TYPE, HEADER_SCHEMA_VERSION, HEADER_TRACEPARENT, HEADER_TRACESTATE, type Prepared, type PreparedRecord } from './prepare.js';
import type { Sampler } from './sampler.js';
import { createProducerKafka, KafkaSender, type SendReport } from './sender.js';
import { murmur2Text } from './partitioner.js';
import {
  encryptEventFieldsNow,
  type EventSignature,
  SECURITY_HEADERS,
  type SecurityPlan,
  type SecurityPolicy,
  securityPolicy,
  signatureHeadersOf,
} from '../security/index.js';
import type { EmitResult } from './types.js';

const SIGNATURE_HEADER_NAME_BYTES = SECURITY_HEADERS.signature.length + SECURITY_HEADERS.keyId.length + SECURITY_HEADERS.algorithm.length;

/** Record framing next to value, key and headers: length, attributes, deltas, header names (an upper bound). */
const RECORD_OVERHEAD = 64;

/** One accepted event on its way to Kafka: the record kafkajs sends, and how to tell the emitter the outcome. */
class OutgoingEvent implements PendingRecord {
  acceptedAt = 0;
  resolve: ((result: EmitResult) => void) | undefined;
  reject: ((error: OnexError) => void) | undefined;
  /** The emit's send span, when an SDK is registered; ended when the event settles. */
  span: Span | undefined;

  readonly message: KafkaMessage;

  constructor(
    readonly keyText: string,
    value: Buffer,
    headers: Record<string, HeaderValue>,
    readonly bytes: number,
    readonly eventType: string,
    readonly eventId: string,
    readonly sampleRate: number,
    readonly lane: Lane,
    /** The caller's object, for failure reports. */
    readonly input: object,
    private readonly onSettled: (event: OutgoingEvent, error: OnexError | undefined) => void,
  ) {
    this.message = { key: keyText, value, headers, keyHash: murmur2Text(keyText), [FAST_RECORD]: true };
  }

  settle(error: OnexError | undefined): void {
    this.onSettled(this, error);
  }
}

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
  private readonly preparer: EventPreparer;
  private readonly sender: KafkaSender;
  private readonly buffer: ProducerBuffer;
  private readonly batcher: Batcher;
  private readonly log: Logger;
  private readonly onError: OnexProducerOptions['onError'];
  private readonly version: SchemaVersion;
  private readonly typeHeaders = new Map<string, Buffer>();
  private readonly versionHeader: Buffer;
  private readonly cloudEvents: CloudEventHeaders;
  /** The onex.producer.cloudevents flag: binary-mode ce_* headers on every record. */
  private cloudEventsOn = true;
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
  private invalidSeen = 0;
  private readonly flagSubscriptions: Array<() => void> = [];
  /** The security policy (field encryption, signing); undefined: every event takes the synchronous path. */
  private readonly security: SecurityPolicy | undefined;
  /**
   * The last event still in the asynchronous security stage. Later events (secured or not) are handed on behind
   * it, so events reach the batcher in emit order and a flow's events stay in order on their partition.
   */
  private securing: Promise<void> | undefined;

  /**
   * A producer connected as the CLI is: Kafka from KAFKA_BROKERS and the ONEX_KAFKA_* variables, the registry from
   * SCHEMA_REGISTRY_URL (with SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO). `options` adds the rest and wins over the
   * environment.
   */
  static fromEnv(options: Partial<OnexProducerOptions> = {}, env: NodeJS.ProcessEnv = process.env): OnexProducer {
    const registry = options.registry ?? (options.codec ? undefined : registryFromEnv(env));
    const kafka = options.kafka ?? connectionFromEnv(env, 'onex-producer').kafka;
    return new OnexProducer({ ...options, kafka, ...(registry ? { registry } : {}) });
  }

  constructor(options: OnexProducerOptions) {
    this.settings = parseProducerSettings(options);
    if (options.codec !== undefined && (typeof options.codec.encode !== 'function' || typeof options.codec.prepare !== 'function')) {
      throw onexError('ONEX_RT_407', 'invalid producer option codec: a codec has prepare(version) and encode(event, version)');
    }
    if (options.codec === undefined && options.registry === undefined) {
      throw onexError('ONEX_RT_407', 'invalid producer option registry: a schema registry (URL, { url, auth } or client) or a codec is needed');
    }
    if (options.kafka === undefined) throw onexError('ONEX_RT_407', 'invalid producer option kafka: a kafkajs client or { brokers, ssl, sasl, clientId } is needed');
    const kafkaOption = resolveKafkaOption(options.kafka, 'producer');
    const codec: EventEncoder = options.codec ?? new OnexEventCodec({ registry: resolveRegistryOption(options.registry, 'producer') });
    const kafka: Kafka = isKafkaClient(kafkaOption) ? kafkaOption : createProducerKafka(kafkaOption);
    const s = this.settings;
    this.security = options.security === undefined ? undefined : securityPolicy(options.security);
    this.codec = codec;
    this.onError = options.onError;
    this.version = s.schemaVersion;
    this.versionHeader = Buffer.from(this.version);
    this.cloudEvents = new CloudEventHeaders(this.versionHeader);
    this.log = logger('producer');
    this.preparer = new EventPreparer(s, (event, version) => codec.encode(event, version));
    this.sampler = this.preparer.sampler;
    this.metrics = new ProducerMetrics(options.metricsRegistry, this.version);
    this.buffer = new ProducerBuffer(s.buffer.maxBytes, s.buffer.blockTimeoutMs, (used) => this.metrics.setBuffered(used));
    this.batcher = new Batcher(s.batch, () => this.pump());
    this.sender = new KafkaSender(kafka, { topic: s.topic, ackTimeoutMs: s.ackTimeoutMs, deliveryTimeoutMs: s.deliveryTimeoutMs }, this.log);
    this.followFlags(options.flags ?? processFlags);
  }

  /** Feature flags switch features off and on while the producer runs; the options stay in charge while a flag is on. */
  private followFlags(flagSet: FlagSet): void {
    const s = this.settings;
    const follow = (key: string, apply: (on: boolean) => void) => {
      apply(flagSet.isEnabled(key, true));
      this.flagSubscriptions.push(
        flagSet.onChange<boolean>(key, (on) => {
          apply(on);
          this.log.info({ flag: key, on }, 'feature flag changed');
        }),
      );
    };
    follow('onex.producer.lz4', (on) => (this.preparer.lz4On = on && s.compression.enabled));
    follow('onex.producer.sampling', (on) => (this.preparer.samplingOn = on));
    follow('onex.producer.cloudevents', (on) => (this.cloudEventsOn = on));
  }

  /** Registers the writer schema (its id is cached by the codec) and connects to Kafka. Safe to call again. */
  start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(this.closedError());
    this.starting ??= (async () => {
      this.state = 'starting';
      try {
        await this.codec.prepare(this.version);
        // The security policy's keys now, not on the first events (which would all wait on the provider).
        await this.security?.ready();
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

  /**
   * Readiness checks for a process's /readyz (docs/health.md): `running` once start() has registered the writer schema
   * and connected to Kafka, false again from close() on.
   */
  readiness(): { running: CheckResult } {
    return { running: runningCheck(this.state === 'running', this.state === 'closing' || this.state === 'closed') };
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
      return this.start().then(
        () => this.emit(event),
        (err: unknown) => this.failEarly(asOnexError(err, 'ONEX_EVENT_600'), event),
      );
    }
    const profiler = activeProfiler();
    if (profiler) return this.emitProfiled(event, profiler);
    return new Promise<EmitResult>((resolve, reject) => this.submit(event, resolve, reject));
  }

  /** emit() measured by the process's profiler: `send <topic>` from emit() to the acknowledgement (or failure). */
  private emitProfiled(event: object, profiler: Profiler): Promise<EmitResult> {
    return new Promise<EmitResult>((resolve, reject) => {
      const m = profiler.start(`send ${this.settings.topic}`);
      profiler.profile(`prepare ${this.settings.topic}`, () =>
        this.submit(
          event,
          (r) => {
            m.stop();
            resolve(r);
          },
          (e) => {
            m.stop();
            reject(e);
          },
        ),
      );
    });
  }

  /**
   * Fire and forget: emit() without waiting. Every failure still reaches the onError option (or the log when there
   * is none), onFailure listeners and onex_events_failed_total. A caller that does not wait cannot be slowed down,
   * so when the buffer is full the event fails at once with ONEX_EVENT_608 whatever the overflow policy: holding it
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
    this.submit(event, undefined, undefined);
  }

  /** Resolves when every event emitted before the call is acknowledged or failed. */
  async flush(): Promise<void> {
    if (this.securing !== undefined) await this.securing;
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
      for (const unsubscribe of this.flagSubscriptions.splice(0)) unsubscribe();
      this.state = 'closed';
    })();
    return this.closing;
  }

  // ---- the path of one event ----

  private submit(event: object, resolve: ((r: EmitResult) => void) | undefined, reject: ((e: OnexError) => void) | undefined): void {
    if (this.security !== undefined) {
      this.submitSecured(event, resolve, reject, this.security);
      return;
    }
    const tracer = activeTracer();
    const span = tracer ? startSendSpan(tracer, this.settings.topic, event) : undefined;
    let outcome: Prepared | OnexError;
    try {
      outcome = this.preparer.prepare(event, span ? span.spanContext() : activeSpanContext());
    } catch (err) {
      outcome = asOnexError(err, 'ONEX_EVENT_603');
    }
    this.prepared(outcome, event, resolve, reject, span);
  }

  /**
   * submit() with a security policy: between the halves of prepare, the policy's plan for the event; an event it
   * names is encrypted and signed asynchronously (the key provider is async), any other one goes on synchronously
   * unless an earlier secured event is still on its way, which it then follows (emit order is kept).
   */
  private submitSecured(event: object, resolve: ((r: EmitResult) => void) | undefined, reject: ((e: OnexError) => void) | undefined, policy: SecurityPolicy): void {
    const tracer = activeTracer();
    const span = tracer ? startSendSpan(tracer, this.settings.topic, event) : undefined;
    let outcome: Prepared | OnexError | Promise<Prepared | OnexError>;
    try {
      const begun = this.preparer.begin(event, span ? span.spanContext() : activeSpanContext());
      if (begun.kind === 'sampled_out') outcome = begun;
      else {
        const plan = policy.plan(begun.event);
        outcome = plan === undefined ? this.preparer.finish(begun) : this.secure(begun, plan, policy);
      }
    } catch (err) {
      outcome = asOnexError(err, 'ONEX_EVENT_603');
    }
    const before = this.securing;
    if (before === undefined && !(outcome instanceof Promise)) {
      this.prepared(outcome, event, resolve, reject, span);
      return;
    }
    const ready = outcome;
    const next = (before === undefined ? Promise.resolve(ready) : before.then(() => ready))
      .then((o) => this.prepared(o, event, resolve, reject, span))
      .catch((err: unknown) => this.log.error({ err }, 'producer security stage failed'))
      .finally(() => {
        if (this.securing === next) this.securing = undefined;
      });
    this.securing = next;
  }

  /**
   * The security stage of one event: encrypt the fields the plan names, encode, sign the record value. Synchronous
   * while the cipher has its data key and the signer its current key (FieldCipher.encryptTextSync,
   * EventSigner.signSync); a promise only when one of them must ask the key provider. Never throws or rejects.
   */
  private secure(begun: Begun, plan: SecurityPlan, policy: SecurityPolicy): Prepared | OnexError | Promise<Prepared | OnexError> {
    try {
      if (plan.encrypt !== undefined) {
        const sealed = encryptEventFieldsNow(begun.event as Record<string, unknown> & { event_id: string; event_type: string }, plan.encrypt, policy.cipher!, this.version);
        if (sealed instanceof Promise) {
          return sealed.then(
            (event) => {
              begun.event = event;
              return this.signed(begun, plan, policy);
            },
            (err: unknown) => asOnexError(err, 'ONEX_EVENT_603'),
          );
        }
        begun.event = sealed;
      }
      return this.signed(begun, plan, policy);
    } catch (err) {
      return asOnexError(err, 'ONEX_EVENT_603');
    }
  }

  /** secure()'s second half: encode, then sign when the plan says so. */
  private signed(begun: Begun, plan: SecurityPlan, policy: SecurityPolicy): Prepared | OnexError | Promise<Prepared | OnexError> {
    try {
      const record = this.preparer.finish(begun);
      if (!plan.sign) return record;
      const facts = { eventType: record.eventType, schemaVersion: this.version };
      const signature = policy.signer!.signSync(record.value, facts);
      if (signature === undefined) {
        return policy.signer!.sign(record.value, facts).then(
          (made) => this.withSignature(record, made),
          (err: unknown) => asOnexError(err, 'ONEX_EVENT_603'),
        );
      }
      return this.withSignature(record, signature);
    } catch (err) {
      return asOnexError(err, 'ONEX_EVENT_603');
    }
  }

  private withSignature(record: PreparedRecord, signature: EventSignature): PreparedRecord | OnexError {
    try {
      const securityHeaders = signatureHeadersOf(signature);
      const size = record.size + SIGNATURE_HEADER_NAME_BYTES + signature.signature.length + signature.keyId.length + signature.algorithm.length;
      this.preparer.checkSize(record.eventId, size, record.typeLabel);
      return { ...record, size, securityHeaders };
    } catch (err) {
      return asOnexError(err, 'ONEX_EVENT_603');
    }
  }

  /** A prepared event (or its failure): noted on the send span, then handled. */
  private prepared(
    outcome: Prepared | OnexError,
    event: object,
    resolve: ((r: EmitResult) => void) | undefined,
    reject: ((e: OnexError) => void) | undefined,
    span: Span | undefined,
  ): void {
    if (span) {
      if (outcome instanceof OnexError) endSendSpan(span, { error: outcome });
      else if (outcome.kind === 'sampled_out') endSendSpan(span, { sampledOut: true });
      else noteSendPrepared(span, { eventId: outcome.eventId, keyText: outcome.keyText, schemaVersion: this.version, bytes: outcome.value.length });
    }
    this.handle(outcome, event, resolve, reject, span);
  }

  /** Where a prepared event (or its failure) goes: counted, then refused, dropped by sampling, or accepted. */
  private handle(
    outcome: Prepared | OnexError,
    input: object,
    resolve: ((r: EmitResult) => void) | undefined,
    reject: ((e: OnexError) => void) | undefined,
    span: Span | undefined,
  ): void {
    if (outcome instanceof OnexError) {
      const label = eventTypeLabel((input as { event_type?: unknown } | null)?.event_type);
      this.failed(outcome, label, input);
      if (reject) reject(outcome);
      else this.reportDetached(outcome, input, false);
      return;
    }
    const prepared = outcome;
    if (prepared.issues) {
      for (const i of prepared.issues) this.metrics.validationIssues.inc({ event_type: prepared.typeLabel, code: i.code });
      // Every violation is counted; the log gets the first ten and then one in a thousand, so a misbehaving emitter
      // cannot flood it.
      const n = ++this.invalidSeen;
      if (n <= 10 || n % 1000 === 0) {
        this.log.warn({ event_id: prepared.eventId, invalid_events_so_far: n, violations: prepared.issues.map((i) => `${i.code} ${i.path}: ${i.message}`) }, 'event violates the ONEX standard; sending it anyway (non-strict)');
      }
    }
    if (prepared.kind === 'sampled_out') {
      this.metrics.recordSampledOut(prepared.typeLabel);
      resolve?.({ status: 'sampled_out', eventId: prepared.eventId, sampleRate: prepared.sampleRate });
      return;
    }
    const outgoing = this.toOutgoing(prepared, input);
    outgoing.resolve = resolve;
    outgoing.reject = reject;
    outgoing.span = span;
    this.enqueue(outgoing, resolve === undefined);
  }

  /**
   * The record of one event. Header values that change per record stay strings where their bytes allow it (see
   * latin1Header), and the key is its text: the one-pass batch encoder writes both in place, so no Buffer is made per
   * record for them (this was most of what the producer allocated per event besides the value).
   */
  private toOutgoing(p: PreparedRecord, input: object): OutgoingEvent {
    const headers: Record<string, HeaderValue> = {
      [HEADER_EVENT_TYPE]: this.typeHeader(p.eventType),
      [HEADER_SCHEMA_VERSION]: this.versionHeader,
    };
    const traceparent = p.traceparent ? latin1Header(p.traceparent) : undefined;
    if (traceparent !== undefined) headers[HEADER_TRACEPARENT] = traceparent;
    if (p.tracestate) headers[HEADER_TRACESTATE] = latin1Header(p.tracestate);
    if (p.securityHeaders) for (const [name, value] of Object.entries(p.securityHeaders)) headers[name] = latin1Header(value);
    const ceBytes = this.cloudEventsOn ? this.cloudEvents.add(headers, p, traceparent) : 0;
    this.metrics.recordSize(p.lane, p.value.length);
    return new OutgoingEvent(p.keyText, p.value, headers, p.size + ceBytes + RECORD_OVERHEAD, p.typeLabel, p.eventId, p.sampleRate, p.lane, input, this.settled);
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
    if (outgoing.span) endSendSpan(outgoing.span, error ? { error } : {});
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
