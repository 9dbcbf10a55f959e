/**
 * Span attribute names: OpenTelemetry's messaging semantic conventions (semconv 1.27+, the `messaging.*` and
 * `messaging.kafka.*` names) and the pipeline's own `onex.*` ones. Spelled here once, as strings, so the library
 * needs no semantic-conventions package at run time.
 */
export const ATTR = Object.freeze({
  system: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destination: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  consumerGroup: 'messaging.consumer.group.name',
  messageId: 'messaging.message.id',
  bodySize: 'messaging.message.body.size',
  kafkaKey: 'messaging.kafka.message.key',
  kafkaOffset: 'messaging.kafka.offset',
  eventType: 'onex.event_type',
  /** The version the producer wrote. */
  schemaVersion: 'onex.schema_version',
  /** The version the worker's handlers receive. */
  targetVersion: 'onex.schema_version.target',
  correlationId: 'onex.correlation_id',
  errorCode: 'onex.error_code',
  attempts: 'onex.attempts',
  outcome: 'onex.outcome',
  alertId: 'onex.alert.id',
  alertRule: 'onex.alert.rule',
  alertState: 'onex.alert.state',
  /** On a span link: what the linked span is to this one (`replay_of`: the original of a replayed event). */
  linkType: 'onex.link.type',
  replayId: 'onex.replay.id',
} as const);

/** `messaging.system` for Kafka. */
export const MESSAGING_SYSTEM = 'kafka';
