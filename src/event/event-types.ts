import type { SchemaVersion } from './versions.js';

/**
 * Event types by the schema version that introduced them. A MINOR version only ever appends types (removing one
 * would be a MAJOR change); avro/onex-event/*.avsc carries the same lists and a unit test keeps the two in step.
 */
const V1_0 = [
  'NODE_START',
  'NODE_SUCCESS',
  'NODE_FAILURE',
  'NODE_REGISTER',
  'TELEMETRY_OPERATION_START',
  'TELEMETRY_OPERATION_SUCCESS',
  'TELEMETRY_OPERATION_ERROR',
  'STRUCTURED_LOG',
  'INTROSPECTION_REQUEST',
  'INTROSPECTION_RESPONSE',
  'NODE_DISCOVERY_REQUEST',
  'NODE_DISCOVERY_RESPONSE',
] as const;
const V1_1 = [...V1_0, 'NODE_ANNOUNCE', 'NODE_ANNOUNCE_ACCEPTED', 'NODE_ANNOUNCE_REJECTED'] as const;
const V1_3 = [...V1_1, 'PERFORMANCE_PROFILE', 'ALERT_TRIGGERED', 'ALERT_RESOLVED'] as const;

export type EventTypeV1_0 = (typeof V1_0)[number];
export type EventTypeV1_1 = (typeof V1_1)[number];
export type EventTypeV1_2 = EventTypeV1_1;
export type EventTypeV1_3 = (typeof V1_3)[number];
export type EventTypeV2_0 = EventTypeV1_3;
/** Every event type any version knows. */
export type OnexEventType = EventTypeV2_0;

/**
 * What a reader sees when the writer used a type the reader's version does not have: the Avro enum default. Never
 * emitted by a producer; consumers must handle it gracefully (docs/protocol.md section 2).
 */
export const UNKNOWN_EVENT_TYPE = 'UNKNOWN';
export type UnknownEventType = typeof UNKNOWN_EVENT_TYPE;

export const EVENT_TYPES: Readonly<Record<SchemaVersion, readonly OnexEventType[]>> = Object.freeze({
  '1.0.0': Object.freeze([...V1_0]),
  '1.1.0': Object.freeze([...V1_1]),
  '1.2.0': Object.freeze([...V1_1]),
  '1.3.0': Object.freeze([...V1_3]),
  '2.0.0': Object.freeze([...V1_3]),
});

export const ALL_EVENT_TYPES: readonly OnexEventType[] = EVENT_TYPES['2.0.0'];

const LABELS = new Set<string>([...ALL_EVENT_TYPES, UNKNOWN_EVENT_TYPE]);

/**
 * The event type as a bounded metric label, the same in every module: an ONEX event type as it is, anything else
 * (a string no version knows, a missing type) as UNKNOWN, the spelling a reader already sees for a type it does
 * not know. Prometheus therefore sees one label value for one fact.
 */
export function eventTypeLabel(value: unknown): string {
  return typeof value === 'string' && LABELS.has(value) ? value : UNKNOWN_EVENT_TYPE;
}

export function isEventTypeOf(version: SchemaVersion, value: unknown): value is OnexEventType {
  return typeof value === 'string' && (EVENT_TYPES[version] as readonly string[]).includes(value);
}

/** The oldest schema version that has this event type. */
export function introducedIn(type: OnexEventType): SchemaVersion {
  return (Object.keys(EVENT_TYPES) as SchemaVersion[]).find((v) => EVENT_TYPES[v].includes(type)) ?? '2.0.0';
}
