/** What JSON can carry: the metadata of an event and its state objects are JSON objects. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** ISO-8601 date-time in UTC with up to microsecond precision, e.g. 2025-05-25T14:17:21.178483Z. */
export type IsoTimestamp = string;
