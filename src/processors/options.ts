import type { Kafka } from 'kafkajs';
import { z } from 'zod';
import { invalidOptions, LATEST_VERSION, onexError, SCHEMA_VERSIONS, type SchemaVersion } from '../event/index.js';
import { checkReplication, type TopicReplication } from '../kafka/index.js';
import { DEFAULT_RETRY_POLICY, defaultDeadLetterTopic, type EventDecoder, type RetryPolicy } from '../worker/index.js';
import type { LatePolicy, ProcessorDefinition, ProcessorOptions } from './types.js';

/** The processor's defaults, in one place. */
export const PROCESSOR_DEFAULTS = {
  allowedLatenessMs: 5_000,
  late: 'drop' as LatePolicy,
  tick: { intervalMs: 1_000, idleAfterMs: 2_000 },
  concurrency: 4,
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  maxWaitTimeMs: 200,
  transactionTimeoutMs: 30_000,
  restoreTimeoutMs: 120_000,
};

const positiveInt = z.number().int().positive();
const versions = z.enum(SCHEMA_VERSIONS as [SchemaVersion, ...SchemaVersion[]]);
const schema = z.object({
  groupId: z.string().min(1),
  topic: z.string().min(1),
  changelogTopic: z.string().min(1),
  deadLetterTopic: z.string().min(1),
  outputTopics: z.array(z.string().min(1)),
  targetVersion: versions,
  validation: z.enum(['strict', 'non-strict', 'off']),
  allowedLatenessMs: z.number().int().min(0),
  late: z.enum(['drop', 'process']),
  tick: z.union([z.literal(false), z.object({ intervalMs: positiveInt, idleAfterMs: z.number().int().min(0) })]),
  concurrency: positiveInt.max(1_000),
  sessionTimeoutMs: positiveInt,
  heartbeatIntervalMs: positiveInt,
  maxWaitTimeMs: z.number().int().min(0),
  transactionTimeoutMs: positiveInt,
  deprecatedVersions: z.array(versions),
  fromBeginning: z.boolean(),
});

export interface ResolvedProcessorOptions extends Omit<z.output<typeof schema>, 'deprecatedVersions'> {
  kafka: Kafka;
  definition: ProcessorDefinition;
  decoder: EventDecoder;
  retry: RetryPolicy;
  deprecatedVersions: ReadonlySet<SchemaVersion>;
  restoreTimeoutMs: number;
  /** Replication of the changelog, dead-letter and output topics the processor creates. */
  replication: TopicReplication;
}

/** Validates once, at construction, into ONEX_RT_407 naming the first bad option; fills the defaults. */
export function resolveProcessorOptions(o: ProcessorOptions): ResolvedProcessorOptions {
  if (!o || typeof o !== 'object') throw onexError('ONEX_RT_407', 'createProcessor needs an options object');
  if (!o.kafka || typeof o.kafka.consumer !== 'function') throw onexError('ONEX_RT_407', 'invalid processor option kafka: pass a client from createKafka()');
  if (!o.decoder || typeof o.decoder.decode !== 'function') throw onexError('ONEX_RT_407', 'invalid processor option decoder: pass an OnexEventCodec');
  const d = o.definition;
  if (!d || typeof d.name !== 'string' || d.name === '' || typeof d.process !== 'function') {
    throw onexError('ONEX_RT_407', 'invalid processor option definition: it needs a name and a process(event, ctx) function');
  }
  const P = PROCESSOR_DEFAULTS;
  const parsed = schema.safeParse({
    groupId: o.groupId,
    topic: o.topic,
    changelogTopic: o.changelogTopic ?? `${o.groupId}-changelog`,
    deadLetterTopic: o.deadLetterTopic ?? (typeof o.topic === 'string' ? defaultDeadLetterTopic(o.topic) : ''),
    outputTopics: o.outputTopics ?? [],
    targetVersion: o.targetVersion ?? LATEST_VERSION,
    validation: o.validation ?? 'strict',
    allowedLatenessMs: o.allowedLatenessMs ?? P.allowedLatenessMs,
    late: o.late ?? P.late,
    tick: o.tick ?? P.tick,
    concurrency: o.concurrency ?? P.concurrency,
    sessionTimeoutMs: o.sessionTimeoutMs ?? P.sessionTimeoutMs,
    heartbeatIntervalMs: o.heartbeatIntervalMs ?? P.heartbeatIntervalMs,
    maxWaitTimeMs: o.maxWaitTimeMs ?? P.maxWaitTimeMs,
    transactionTimeoutMs: o.transactionTimeoutMs ?? P.transactionTimeoutMs,
    deprecatedVersions: o.deprecatedVersions ?? [],
    fromBeginning: o.fromBeginning ?? false,
  });
  if (!parsed.success) throw invalidOptions('invalid processor option', 'options', parsed.error.issues);
  const v = parsed.data;
  if (v.changelogTopic === v.topic || v.deadLetterTopic === v.topic) throw onexError('ONEX_RT_407', `invalid processor option: ${v.topic} cannot be its own changelog or dead-letter topic`);
  if (v.outputTopics.includes(v.topic)) throw onexError('ONEX_RT_407', `invalid processor option outputTopics: ${v.topic} is the input topic`);
  const replication = checkReplication(o, 'processor');
  return {
    ...v,
    replication,
    kafka: o.kafka,
    definition: d,
    decoder: o.decoder,
    retry: { ...DEFAULT_RETRY_POLICY, ...o.retry },
    deprecatedVersions: new Set(v.deprecatedVersions),
    restoreTimeoutMs: P.restoreTimeoutMs,
  };
}
