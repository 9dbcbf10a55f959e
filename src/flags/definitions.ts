import type { FlagDefinition, FlagKind, FlagValue } from './types.js';

/**
 * Every feature flag of the pipeline, in one table. Adding a flag is one line here; docs/flags.md is generated from
 * this table (`npm run docs:flags`) and a unit test keeps the two in step. A flag switches a feature for a gradual
 * rollout; the option that configures the feature stays where it is (a flag that is on leaves the option in charge,
 * a flag that is off switches the feature off whatever the option says).
 */
const flag = <V extends FlagValue>(key: string, defaultValue: V, changes: string, readIn: string): FlagDefinition<V> =>
  Object.freeze({ key, kind: typeof defaultValue as FlagKind, defaultValue, changes, readIn });

export const FLAG_DEFINITIONS = Object.freeze([
  flag('onex.producer.sampling', true, 'Off: the producer keeps every event, whatever its sampling rates are.', 'src/producer/producer.ts'),
  flag('onex.producer.lz4', true, 'Off: the producer sends every batch uncompressed; on: batches of events over compression.thresholdBytes are LZ4-compressed (when compression.enabled).', 'src/producer/producer.ts'),
  flag('onex.producer.cloudevents', true, 'Off: records carry only the onex-* and traceparent headers, not the CloudEvents binary-mode ce_* headers.', 'src/producer/producer.ts'),
  flag('onex.worker.cloudevents', true, 'Off: the worker reads application/cloudevents+json (structured mode) records like any other record, so they fail decoding (ONEX_EVENT_604) and are dead-lettered; on: it validates their data as an ONEX event and hands it to the handlers.', 'src/worker/record-processor.ts'),
  flag('onex.security.signing', true, 'Off: the producer signs no events and the worker verifies none (signed or not).', 'src/security/record-security.ts'),
  flag('onex.security.encryption', true, 'Off: the producer encrypts no fields and the worker decrypts none (handlers see ciphertext envelopes).', 'src/security/record-security.ts'),
  flag('onex.security.compact-envelope', true, 'Off: encrypted fields are written in the format-1 text form (onex-enc:1:, base64url of the envelope JSON) that readers older than format 2 understand; on: the compact onex-enc:2: form. Readers read both either way.', 'src/security/field-encryption.ts'),
  flag('onex.kafka.tls-preflight', true, 'Off: a Kafka client over TLS connects without the certificate check first, so a broker certificate it does not trust fails (ONEX_EVENT_635) only after kafkajs has retried the connection; on: one TLS handshake per seed broker before connect fails it at once.', 'src/kafka/tls-preflight.ts'),
  flag('onex.telemetry.profiling', true, 'Off: profile() is a plain call and the producer and the worker measure nothing, even with a profiler started (no PERFORMANCE_PROFILE events).', 'src/telemetry/profiler.ts'),
  flag('onex.replay.enabled', true, 'Off: onex replay refuses to run (ONEX_CLI_303); nothing is re-emitted.', 'src/cli/commands/replay.ts'),
  flag('onex.replay.pacer', true, 'Off: the replay pacer sleeps on timers only up to each due time (the pacer replay option is ignored): never early, up to ~1 ms late per event plus the loop delay; on: events due within pacer.earlyMs (default 1 ms) are released together, at most that early.', 'src/replay/replay.ts'),
  flag('onex.correlations.enabled', true, 'Off: the correlation index processor reads and commits events but indexes none (onex.correlations gets no records), and onex replay finds flows by the partitioner instead of the index.', 'src/processors/correlation/run.ts'),
  flag('onex.trace.enabled', true, 'Off: onex trace refuses to run (ONEX_CLI_303).', 'src/cli/commands/trace.ts'),
  flag('onex.inspect.enabled', true, 'Off: onex inspect serve refuses to run (ONEX_CLI_303).', 'src/cli/commands/inspect.ts'),
  flag('onex.telemetry.tracing', true, 'Off: the producer and the worker make no OpenTelemetry spans even with an SDK registered (trace context is still carried in headers and event fields).', 'src/telemetry/tracer.ts'),
  flag('onex.alerts.enabled', true, 'Off: the alert processor evaluates no rule (no transitions, events or webhooks); each rule can also be switched off alone with onex.alerts.rule.<name>.', 'src/processors/alerting/run.ts'),
  flag('onex.alerts.prefilter', true, 'Off: the alert processor runs every rule\'s CEL expression on every event; on: an event meets only the rules whose expressions can be true for its event_type, and literal string comparisons in an expression are checked before its CEL program (the same alerts either way).', 'src/processors/alerting/run.ts'),
  flag('onex.alerts.webhook', true, 'Off: alert transitions are not posted to the Alertmanager webhook (the onex.alerts events still are).', 'src/processors/alerting/run.ts'),
  flag('onex.topics.replication', true, 'Off: topics the pipeline creates get the broker\'s default.replication.factor and min.insync.replicas unless replicationFactor / minInsyncReplicas are set; on: 3 and 2 on a cluster of 3+ brokers, else 1 and 1.', 'src/kafka/topics.ts'),
  flag('onex.health.checks', true, 'Off: /readyz asks no dependency (Kafka, registry, group, restored state) and is ready unless the process is draining; /healthz is unchanged.', 'src/health/index.ts'),
] as const);

export type FlagKey = (typeof FLAG_DEFINITIONS)[number]['key'];

const BY_KEY: ReadonlyMap<string, FlagDefinition> = new Map(FLAG_DEFINITIONS.map((d) => [d.key, d]));

export function flagDefinition(key: string): FlagDefinition | undefined {
  return BY_KEY.get(key);
}

/** The environment variable that pins a flag: `onex.producer.lz4` -> ONEX_FLAG_PRODUCER_LZ4. */
export function flagEnvName(key: string): string {
  return `ONEX_FLAG_${key.replace(/^onex\./, '').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}`;
}
