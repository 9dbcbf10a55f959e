import type { Registry } from 'prom-client';
import { z } from 'zod';
import { invalidOptions, onexError, type OnexError } from '../errors/index.js';
import { ALL_EVENT_TYPES, SCHEMA_VERSIONS, versionAtLeast, type OnexEventType, type SchemaVersion } from '../event/index.js';
import type { KafkaOption, RegistryOption } from '../codec/index.js';
import type { FlagSet } from '../flags/index.js';
import type { SecurityPolicy, SecurityPolicyOptions } from '../security/index.js';

/**
 * OnexProducer options: typed, validated once at construction into ONEX_RT_407 naming the bad option, and every
 * default in this one file.
 */

/** What the producer needs from the codec (src/codec's OnexEventCodec has this shape). */
export interface EventEncoder {
  /** Registers the writer schema of `version` once and caches its id; called by start(). */
  prepare(version: SchemaVersion): Promise<number>;
  /** Confluent wire format (0, int32 id, Avro body); synchronous after prepare(); throws ONEX_EVENT_603. */
  encode(event: object, version: SchemaVersion): Buffer;
}

export type OverflowPolicy = 'block' | 'reject';

export const DEFAULTS = Object.freeze({
  topic: 'onex.events',
  /** The newest 1.x: every 1.x consumer reads it; 2.0.0 is opt-in until the transition (design section 3). */
  schemaVersion: '1.3.0' as SchemaVersion,
  validation: 'strict' as 'strict' | 'non-strict',
  sampling: Object.freeze({
    enabled: true,
    /** Keep everything unless rates are configured: sampling is a decision an operator makes, never a surprise. */
    defaultRate: 1,
    /** Failure types are never sampled out (nor is any event carrying an error code). */
    alwaysKeep: Object.freeze(['NODE_FAILURE', 'TELEMETRY_OPERATION_ERROR', 'NODE_ANNOUNCE_REJECTED', 'ALERT_TRIGGERED'] as OnexEventType[]),
  }),
  batch: Object.freeze({
    /**
     * The protocol suggests batch_size 100 / batch_timeout_ms 1000 for its in-process queue. On Kafka, a batch of 100
     * 2 KB events is one 200 KB request, and a one-second age limit is a second of latency per emit() at low rates;
     * 1,000 events / 1 MB / 5 ms keeps requests large under load and latency low when idle.
     */
    maxEvents: 1000,
    maxBytes: 1_000_000,
    lingerMs: 5,
  }),
  buffer: Object.freeze({
    /** Everything accepted and not yet acknowledged, like the Java producer's buffer.memory. */
    maxBytes: 32 * 1024 * 1024,
    overflow: 'block' as OverflowPolicy,
    blockTimeoutMs: 10_000,
  }),
  compression: Object.freeze({ enabled: true, thresholdBytes: 10 * 1024 }),
  /**
   * 1 MB (10^6 bytes): a record this large plus the record-batch overhead still fits the broker's default
   * message.max.bytes (1,048,588), so the broker never refuses what we accepted.
   */
  maxEventBytes: 1_000_000,
  /** From acceptance to acknowledgement, retries included, like the Java producer's delivery.timeout.ms. */
  deliveryTimeoutMs: 120_000,
  /** How long the broker may wait for the in-sync replicas (acks=all) before it answers. */
  ackTimeoutMs: 30_000,
});

const rate = z.number().min(0).max(1);
const eventType = z.enum(ALL_EVENT_TYPES as [OnexEventType, ...OnexEventType[]]);

const optionsSchema = z.object({
  topic: z.string().min(1).max(249).default(DEFAULTS.topic),
  schemaVersion: z.enum(SCHEMA_VERSIONS as [SchemaVersion, ...SchemaVersion[]]).default(DEFAULTS.schemaVersion),
  validation: z.enum(['strict', 'non-strict']).default(DEFAULTS.validation),
  sampling: z
    .object({
      enabled: z.boolean().default(DEFAULTS.sampling.enabled),
      defaultRate: rate.default(DEFAULTS.sampling.defaultRate),
      rates: z.partialRecord(eventType, rate).default({}),
      alwaysKeep: z.array(eventType).default([...DEFAULTS.sampling.alwaysKeep]),
    })
    .prefault({}),
  batch: z
    .object({
      maxEvents: z.number().int().min(1).max(100_000).default(DEFAULTS.batch.maxEvents),
      maxBytes: z.number().int().min(1024).default(DEFAULTS.batch.maxBytes),
      lingerMs: z.number().min(0).max(60_000).default(DEFAULTS.batch.lingerMs),
    })
    .prefault({}),
  buffer: z
    .object({
      maxBytes: z.number().int().min(1024).default(DEFAULTS.buffer.maxBytes),
      overflow: z.enum(['block', 'reject']).default(DEFAULTS.buffer.overflow),
      blockTimeoutMs: z.number().int().min(0).default(DEFAULTS.buffer.blockTimeoutMs),
    })
    .prefault({}),
  compression: z
    .object({
      enabled: z.boolean().default(DEFAULTS.compression.enabled),
      thresholdBytes: z.number().int().min(0).default(DEFAULTS.compression.thresholdBytes),
    })
    .prefault({}),
  maxEventBytes: z.number().int().min(64).default(DEFAULTS.maxEventBytes),
  deliveryTimeoutMs: z.number().int().min(100).default(DEFAULTS.deliveryTimeoutMs),
  ackTimeoutMs: z.number().int().min(100).default(DEFAULTS.ackTimeoutMs),
});

export type ProducerSettingsInput = z.input<typeof optionsSchema>;
export type ProducerSettings = z.output<typeof optionsSchema>;

export interface OnexProducerOptions extends ProducerSettingsInput {
  /** A kafkajs client (from createKafka) or { brokers, ssl, sasl, clientId } to make one with (the worker takes the same). */
  kafka: KafkaOption;
  /** Encodes events in the Confluent wire format; default an OnexEventCodec over `registry`. */
  codec?: EventEncoder;
  /** The schema registry the default codec registers the writer schema with: a URL, { url, auth } or a client. */
  registry?: RegistryOption;
  /** Where the metrics go; default prom-client's global registry. */
  metricsRegistry?: Registry;
  /** The feature flags this producer follows (sampling, LZ4, CloudEvents headers); default the process's `flags`. */
  flags?: FlagSet;
  /**
   * Field encryption and signing per event type (docs/security.md, "In the producer"): a SecurityPolicy or its
   * options, e.g. { cipher, signer, encrypt: { NODE_FAILURE: ['metadata.input_state.card_number'] }, sign: true }.
   * Events no policy applies to take the synchronous path unchanged.
   */
  security?: SecurityPolicy | SecurityPolicyOptions;
  /** Called for every failure of an accepted or attempted event; the only report emitAndForget() gives. */
  onError?: (error: OnexError, event: object) => void;
}

/** Validates the plain settings (kafka, codec and callbacks are checked where they are used). */
export function parseProducerSettings(input: ProducerSettingsInput): ProducerSettings {
  const result = optionsSchema.safeParse(input);
  if (!result.success) throw invalidOptions('invalid producer option', 'producer options', result.error.issues);
  const s = result.data;
  if (s.buffer.maxBytes < s.maxEventBytes) {
    throw onexError('ONEX_RT_407', `invalid producer option buffer.maxBytes: ${s.buffer.maxBytes} is below maxEventBytes (${s.maxEventBytes}), so a valid event could never be buffered`);
  }
  const sampling = s.sampling;
  const samples = sampling.enabled && (sampling.defaultRate < 1 || Object.values(sampling.rates).some((r) => r !== undefined && r < 1));
  if (samples && !versionAtLeast(s.schemaVersion, '1.2.0')) {
    throw onexError('ONEX_RT_407', `invalid producer option sampling: schema ${s.schemaVersion} has no sample_rate field, so sampled counts could not be re-weighted; write 1.2.0 or later, or switch sampling off`);
  }
  return s;
}
