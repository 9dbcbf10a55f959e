import type { OnexEventType } from './event-types.js';
import type { TypedEventType } from './types.js';

/**
 * Metadata standards per event type (docs/protocol.md section 3), as data: validation reads them, and the 2.0.0
 * typed metadata records in avro/onex-event/v2.0.0.avsc mirror them field for field (a unit test keeps the two in
 * step). PERFORMANCE_PROFILE (1.3.0) is this pipeline's own standard; the protocol names the type but not its fields.
 */

/** object: a JSON object; int: 32-bit integer; long: safe integer; number: any finite number. */
export type MetadataFieldKind = 'object' | 'string' | 'number' | 'int' | 'long' | 'boolean' | 'string[]';

export interface MetadataFieldRule {
  readonly kind: MetadataFieldKind;
  /** For booleans the standard pins (success: true on success events, false on error events). */
  readonly literal?: boolean;
}

export interface MetadataRule {
  readonly required: Readonly<Record<string, MetadataFieldRule>>;
  readonly optional: Readonly<Record<string, MetadataFieldRule>>;
}

const k = (kind: MetadataFieldKind, literal?: boolean): MetadataFieldRule =>
  literal === undefined ? { kind } : { kind, literal };

export const METADATA_RULES: Readonly<Record<TypedEventType, MetadataRule>> = Object.freeze({
  NODE_START: {
    required: { input_state: k('object') },
    optional: { node_version: k('string'), operation_type: k('string') },
  },
  NODE_SUCCESS: {
    required: { input_state: k('object'), output_state: k('object') },
    optional: { execution_time_ms: k('number'), result_summary: k('string') },
  },
  NODE_FAILURE: {
    required: { input_state: k('object'), error: k('string') },
    optional: {
      error_type: k('string'),
      error_code: k('string'),
      execution_time_ms: k('number'),
      stack_trace: k('string'),
    },
  },
  TELEMETRY_OPERATION_START: {
    required: { operation: k('string'), function: k('string') },
    optional: { args_count: k('int'), kwargs_keys: k('string[]'), context: k('object') },
  },
  TELEMETRY_OPERATION_SUCCESS: {
    required: { operation: k('string'), function: k('string'), execution_time_ms: k('number') },
    optional: { result_type: k('string'), success: k('boolean', true), performance_metrics: k('object') },
  },
  TELEMETRY_OPERATION_ERROR: {
    required: {
      operation: k('string'),
      function: k('string'),
      execution_time_ms: k('number'),
      error_type: k('string'),
      error_message: k('string'),
    },
    optional: { success: k('boolean', false), error_code: k('string'), recoverable: k('boolean') },
  },
  PERFORMANCE_PROFILE: {
    required: { operation: k('string'), duration_ms: k('number') },
    optional: {
      cpu_time_ms: k('number'),
      memory_peak_bytes: k('long'),
      sample_count: k('long'),
      breakdown: k('object'),
    },
  },
});

export const TYPED_EVENT_TYPES: readonly TypedEventType[] = Object.freeze(Object.keys(METADATA_RULES) as TypedEventType[]);

export function isTypedEventType(type: unknown): type is TypedEventType {
  return typeof type === 'string' && Object.hasOwn(METADATA_RULES, type);
}

export function metadataRuleOf(type: OnexEventType | string): MetadataRule | undefined {
  return isTypedEventType(type) ? METADATA_RULES[type] : undefined;
}

/** The metadata keys whose values are application state objects (the 100 KB per-object limit applies to them). */
export const STATE_KEYS: readonly string[] = Object.freeze(['input_state', 'output_state']);

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** True when the value has the kind's JSON type (the literal is checked separately, it is a standard, not a type). */
export function matchesKind(value: unknown, kind: MetadataFieldKind): boolean {
  switch (kind) {
    case 'object':
      return isPlainObject(value);
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'int':
      return Number.isInteger(value) && (value as number) >= INT32_MIN && (value as number) <= INT32_MAX;
    case 'long':
      return Number.isSafeInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null || isAvroRecordInstance(proto);
}

// Values decoded by avsc are instances of generated record classes; they are plain JSON records all the same.
function isAvroRecordInstance(proto: unknown): boolean {
  return proto !== null && typeof proto === 'object' && Object.getPrototypeOf(proto) === Object.prototype && 'toBuffer' in proto;
}
