import type { RecordSecurity } from '../security/index.js';
import type { Kafka } from 'kafkajs';
import { isKafkaClient, OnexEventCodec, resolveKafkaOption, resolveRegistryOption, type KafkaOption, type RegistryOption } from '../codec/index.js';
import { checkReplication, createKafka, type TopicReplication } from '../kafka/index.js';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { invalidOptions, LATEST_VERSION, onexError, SCHEMA_VERSIONS, type SchemaVersion } from '../event/index.js';
import type { FlagSet } from '../flags/index.js';
import type { Logger } from '../telemetry/types.js';
import { defaultDeadLetterTopic } from './dead-letter.js';
import type { EventDecoder, HandlerMap, RecordFailure } from './types.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';

export interface DeadLetterOptions {
  /** The dead-letter topic of a source topic; default `<source>.dlq` (onex.events -> onex.events.dlq). */
  topic?: string | ((sourceTopic: string) => string);
  /** Partitions of a dead-letter topic the worker creates at start-up (default 1); existing topics are left alone. */
  partitions?: number;
  /** Create missing dead-letter topics at start-up (default true). */
  create?: boolean;
  /** Replication of a dead-letter topic the worker creates (default 3 on a cluster of 3+ brokers, else 1). */
  replicationFactor?: number;
  /** Its min.insync.replicas (default 2 on a cluster of 3+ brokers, else 1). */
  minInsyncReplicas?: number;
}

export interface ConsumerTuning {
  /** Default 30 s: a worker silent for this long is thrown out of the group. */
  sessionTimeoutMs?: number;
  /** Default 3 s; the worker also heartbeats during long handlers and retry backoffs. */
  heartbeatIntervalMs?: number;
  /** Default 60 s. */
  rebalanceTimeoutMs?: number;
  /** Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** How long a fetch waits for data when there is none (default 500 ms: short, so that stop() is quick). */
  maxWaitTimeMs?: number;
  /** Within a long batch, commit handled offsets at least this often (default 5 s); every batch end commits too. */
  commitIntervalMs?: number;
  /**
   * Decode the Fetch responses of the worker's topics with onex-events' one-pass decoder (src/kafka/fetch-decoder.ts,
   * about 1 us less per record than kafkajs's) rather than kafkajs's own. Default true; the records handed on are the
   * same either way, and anything the decoder does not take on (legacy message sets, malformed records) goes to
   * kafkajs's decoder anyway. False is the escape hatch.
   */
  fastFetch?: boolean;
}

export interface WorkerOptions {
  /** A kafkajs client (from createKafka) or { brokers, ssl, sasl, clientId } to make one with (the producer takes the same). */
  kafka: KafkaOption;
  groupId: string;
  topics: string | string[];
  /** The schema registry the default decoder reads writer schemas from: a URL, { url, auth } or a client. */
  registry?: RegistryOption;
  /** Decodes a record value into an event of the target version; default an OnexEventCodec over `registry`. */
  decoder?: EventDecoder;
  /** Handlers by event type; '*' is the catch-all (it also gets event types this worker does not know). */
  handlers: HandlerMap;
  /** The version handlers receive; older events are upcast, newer ones within reach downcast. Default LATEST_VERSION. */
  targetVersion?: SchemaVersion;
  /** Where a group without committed offsets starts: false (default) the end, true the beginning. */
  fromBeginning?: boolean;
  /** Partitions handled at the same time (default 4); records of one partition are always handled in order. */
  concurrency?: number;
  /**
   * 'strict' (default): an invalid event is a failure (ONEX_VALID_1xx, not retried, dead-lettered). 'non-strict':
   * counted and logged, handled anyway. 'off': no check after decode. The check is validateDecodedEvent: the decoder
   * typed the event by the target version's Avro schema, so what is left is what a schema cannot say (UUIDs, non-empty
   * ids, ranges, ONEX code formats, the metadata standard of each event type, the size and depth limits), with the
   * codes validateEvent gives. It costs 1.3 µs per 1 KB event measured alone and 2.4-2.7 µs inside the worker
   * (bench/worker.ts: 0.83x raw kafkajs with it, 0.95x without); strict stays the default (docs/protocol.md section 4).
   */
  validation?: 'strict' | 'non-strict' | 'off';
  retry?: Partial<RetryPolicy>;
  /** false: failed records are reported to onFailure and skipped (what `onex consume` does). Default: dead-letter them. */
  deadLetter?: DeadLetterOptions | false;
  /** Writer versions that still work but should not be written any more: counted, and warned about once per version. */
  deprecatedVersions?: SchemaVersion[];
  /** Where the metrics go; default prom-client's global registry. */
  metricsRegistry?: Registry;
  consumer?: ConsumerTuning;
  /** How long stop() waits for the record in hand before it gives up on it (default 30 s; it is then redelivered). */
  shutdownTimeoutMs?: number;
  /** Called for every record that failed for good, after it was dead-lettered (or dropped with deadLetter: false). */
  onFailure?: (failure: RecordFailure) => void;
  /** Verify signatures and decrypt fields before handlers (src/security, docs/security.md); failures are dead-lettered. */
  security?: RecordSecurity;
  /** The feature flags this worker follows (onex.worker.cloudevents); default the process's `flags`. */
  flags?: FlagSet;
  logger?: Logger;
}

/**
 * The worker's defaults, in one place (the retry policy's are DEFAULT_RETRY_POLICY, retry.ts; the target version is
 * LATEST_VERSION). The doc comments of WorkerOptions, DeadLetterOptions and ConsumerTuning say what each is for.
 */
export const WORKER_DEFAULTS = Object.freeze({
  concurrency: 4,
  validation: 'strict' as 'strict' | 'non-strict' | 'off',
  shutdownTimeoutMs: 30_000,
  deadLetter: Object.freeze({ partitions: 1, create: true }),
  consumer: Object.freeze({
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3_000,
    rebalanceTimeoutMs: 60_000,
    maxBytesPerPartition: 1_048_576,
    maxWaitTimeMs: 500,
    commitIntervalMs: 5_000,
    fastFetch: true,
  }),
});

const positiveInt = z.number().int().positive();
// Shaped as the user writes the options (consumer.sessionTimeoutMs, deadLetter.partitions), so that an error names
// the option as it was written; the resolved options are flattened afterwards.
const optionsSchema = z.object({
  groupId: z.string().min(1),
  topics: z.array(z.string().min(1)).min(1, 'at least one topic is needed'),
  targetVersion: z.enum(SCHEMA_VERSIONS as [SchemaVersion, ...SchemaVersion[]]),
  concurrency: positiveInt.max(1_000),
  validation: z.enum(['strict', 'non-strict', 'off']),
  retry: z.object({
    maxAttempts: positiveInt.max(100),
    initialBackoffMs: z.number().int().min(0),
    multiplier: z.number().min(1),
    maxBackoffMs: z.number().int().min(0),
    jitter: z.number().min(0).max(1),
    outageCodes: z.array(z.string().regex(/^ONEX_[A-Z]+_\d{3}$/, 'an ONEX code such as ONEX_REG_206')),
  }),
  deadLetter: z.object({ partitions: positiveInt }),
  deprecatedVersions: z.array(z.enum(SCHEMA_VERSIONS as [SchemaVersion, ...SchemaVersion[]])),
  // Strict: a misspelt tuning option (sessionTimeOutMs) is named instead of silently left at its default.
  consumer: z.strictObject({
    sessionTimeoutMs: positiveInt,
    heartbeatIntervalMs: positiveInt,
    rebalanceTimeoutMs: positiveInt,
    maxBytesPerPartition: positiveInt,
    maxWaitTimeMs: z.number().int().min(0),
    commitIntervalMs: positiveInt,
    fastFetch: z.boolean(),
  }),
  shutdownTimeoutMs: positiveInt,
});

type ParsedWorkerOptions = z.output<typeof optionsSchema>;

export interface ResolvedWorkerOptions extends Omit<ParsedWorkerOptions, 'deprecatedVersions' | 'consumer' | 'deadLetter'>, Readonly<ParsedWorkerOptions['consumer']> {
  kafka: Kafka;
  decoder: EventDecoder;
  deprecatedVersions: ReadonlySet<SchemaVersion>;
  deadLetter: ({ topicFor(sourceTopic: string): string; partitions: number; create: boolean } & TopicReplication) | undefined;
}

/** `given` over `defaults`, an option left undefined keeping its default. */
function withDefaults<T extends object>(defaults: T, given: object | undefined): T {
  const out = { ...defaults } as Record<string, unknown>;
  if (given && typeof given === 'object') {
    for (const [key, value] of Object.entries(given)) if (value !== undefined) out[key] = value;
  }
  return out as T;
}

/** Validates the options once, at construction, into ONEX_RT_407 naming the first bad one; fills the defaults. */
export function resolveWorkerOptions(o: WorkerOptions): ResolvedWorkerOptions {
  if (!o || typeof o !== 'object') throw onexError('ONEX_RT_407', 'createWorker needs an options object');
  if (o.kafka === undefined) throw onexError('ONEX_RT_407', 'invalid worker option kafka: a kafkajs client or { brokers, ssl, sasl, clientId } is needed');
  const kafkaOption = resolveKafkaOption(o.kafka, 'worker');
  if (o.decoder !== undefined && (o.decoder === null || typeof o.decoder.decode !== 'function')) {
    throw onexError('ONEX_RT_407', 'invalid worker option decoder: pass an OnexEventCodec (anything with decode(value, targetVersion))');
  }
  if (o.decoder === undefined && o.registry === undefined) {
    throw onexError('ONEX_RT_407', 'invalid worker option registry: a schema registry (URL, { url, auth } or client) or a decoder is needed');
  }
  const decoder: EventDecoder = o.decoder ?? new OnexEventCodec({ registry: resolveRegistryOption(o.registry, 'worker') });
  if (!o.handlers || typeof o.handlers !== 'object') throw onexError('ONEX_RT_407', 'invalid worker option handlers: pass { EVENT_TYPE: fn, \'*\': fn }');
  const dl = o.deadLetter === false ? undefined : (o.deadLetter ?? {});
  const D = WORKER_DEFAULTS;
  const raw = {
    groupId: o.groupId,
    topics: typeof o.topics === 'string' ? [o.topics] : o.topics,
    targetVersion: o.targetVersion ?? LATEST_VERSION,
    concurrency: o.concurrency ?? D.concurrency,
    validation: o.validation ?? D.validation,
    retry: withDefaults(DEFAULT_RETRY_POLICY, o.retry),
    deadLetter: { partitions: dl?.partitions ?? D.deadLetter.partitions },
    deprecatedVersions: o.deprecatedVersions ?? [],
    consumer: withDefaults(D.consumer, o.consumer),
    shutdownTimeoutMs: o.shutdownTimeoutMs ?? D.shutdownTimeoutMs,
  };
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) throw invalidOptions('invalid worker option', 'options', parsed.error.issues);
  const { consumer, deadLetter: deadLetterParsed, ...v } = parsed.data;
  if (consumer.heartbeatIntervalMs >= consumer.sessionTimeoutMs) {
    throw onexError('ONEX_RT_407', `invalid worker option consumer.heartbeatIntervalMs: ${consumer.heartbeatIntervalMs} ms must be below consumer.sessionTimeoutMs (${consumer.sessionTimeoutMs} ms)`);
  }
  const topicOpt = dl?.topic;
  if (topicOpt !== undefined && typeof topicOpt !== 'function' && (typeof topicOpt !== 'string' || topicOpt === '')) {
    throw onexError('ONEX_RT_407', 'invalid worker option deadLetter.topic: a topic name or a function of the source topic');
  }
  const dlReplication = dl ? checkReplication(dl, 'worker', 'deadLetter.') : {};
  const topicFor = typeof topicOpt === 'function' ? topicOpt : typeof topicOpt === 'string' ? () => topicOpt : defaultDeadLetterTopic;
  for (const t of v.topics) {
    if (dl && topicFor(t) === t) throw onexError('ONEX_RT_407', `invalid worker option deadLetter.topic: ${t} cannot be its own dead-letter topic`);
  }
  return {
    ...v,
    ...consumer,
    // Built last, once every option is known to be good, so that a bad option never leaves a client behind.
    kafka: isKafkaClient(kafkaOption) ? kafkaOption : createKafka(kafkaOption),
    decoder,
    deprecatedVersions: new Set(v.deprecatedVersions),
    deadLetter: dl ? { topicFor, partitions: deadLetterParsed.partitions, create: dl.create ?? D.deadLetter.create, ...dlReplication } : undefined,
  };
}
