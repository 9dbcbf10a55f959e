import { EVENT_TYPE_SYMBOLS } from './generated/schema-tables.js';
import type { EventTypeV2_0 } from './generated/schema-types.js';
import type { SchemaVersion } from './versions.js';

/**
 * Event types by schema version, generated from the event_type enum of each avro/onex-event/*.avsc
 * (src/event/generated/, `npm run gen:schema`). A MINOR version only ever appends types (removing one would be a
 * MAJOR change).
 */
export type { EventTypeV1_0, EventTypeV1_1, EventTypeV1_2, EventTypeV1_3, EventTypeV2_0 } from './generated/schema-types.js';
/** Every event type any version knows. */
export type OnexEventType = EventTypeV2_0;

/**
 * What a reader sees when the writer used a type the reader's version does not have: the Avro enum default. Never
 * emitted by a producer; consumers must handle it gracefully (docs/protocol.md section 2).
 */
export const UNKNOWN_EVENT_TYPE = 'UNKNOWN';
export type UnknownEventType = typeof UNKNOWN_EVENT_TYPE;

export const EVENT_TYPES = EVENT_TYPE_SYMBOLS as Readonly<Record<SchemaVersion, readonly OnexEventType[]>>;

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
