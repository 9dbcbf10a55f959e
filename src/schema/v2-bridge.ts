import { isOnexCode, ONEX_CODES, onexError } from '../errors/index.js';
import {
  isPlainObject,
  matchesKind,
  METADATA_RULES,
  type ErrorInfo,
  type JsonObject,
  type MetadataFieldKind,
  type MetadataRule,
  type MetadataV2,
  type OnexEventV1_3,
  type OnexEventV2_0,
  type TypedEventType,
} from '../event/index.js';

/**
 * The MAJOR step between 1.3.0 and 2.0.0, both ways. Upcasting types the JSON metadata with the standard of the
 * event type; everything the standard does not name goes to `extra`, and metadata that does not meet its standard
 * travels as UntypedMetadata, so an upcast never loses or refuses an event. Downcasting writes the typed metadata
 * back to the JSON it came from. A 1.x event that goes up and down again keeps every field and every metadata key.
 *
 * Field mapping: trace_id <-> trace.trace_id (carried verbatim); error_code <-> error.code, with severity and
 * recoverability looked up in the ONEX registry on the way up. On the way down, what 1.3.0 has no field for is
 * dropped (span id, trace flags, severity and recoverability, which the code implies, and a signature-only
 * security block); an event with encrypted fields is refused, since a 1.x reader could not tell which values are
 * ciphertext.
 */

type TypeFn = (metadata: Record<string, unknown>) => MetadataV2;
type FlattenFn = (metadata: Record<string, unknown>) => JsonObject;

/**
 * One generated function per event type and direction (as avsc generates its readers): object literals with the
 * standard's field names give every typed record one hidden class and keep the reads monomorphic; a loop over the
 * rule's keys would store through a different key each time.
 */
function compileRule(rule: MetadataRule): { type: TypeFn; flatten: FlattenFn } {
  const q = JSON.stringify;
  const required = Object.entries(rule.required).map(([k, f]) => [k, f.kind] as const);
  const optional = Object.entries(rule.optional).map(([k, f]) => [k, f.kind] as const);
  const standard = new Set([...required, ...optional].map(([k]) => k));
  const kinds = [...new Set([...required, ...optional].map(([, kind]) => kind))];
  const is = (kind: MetadataFieldKind) => `is${kinds.indexOf(kind)}`;
  const local = (i: number) => `f${i}`;
  const typeSource = [
    ...required.map(([key, kind], i) => `const ${local(i)} = m[${q(key)}]; if (!${is(kind)}(${local(i)})) return { untyped: m };`),
    'let extra = null;',
    ...optional.map(([key, kind], j) => {
      const v = local(required.length + j);
      // An explicit null or a value of the wrong type: the typed field stays null, the key keeps its value in extra.
      return `let ${v} = m[${q(key)}]; if (${v} === undefined) ${v} = null; else if (${v} === null || !${is(kind)}(${v})) { (extra ??= {})[${q(key)}] = ${v}; ${v} = null; }`;
    }),
    'for (const key in m) if (!standard.has(key) && m[key] !== undefined) (extra ??= {})[key] = m[key];',
    `return { ${[...required, ...optional].map(([key], i) => `${q(key)}: ${local(i)}`).join(', ')}, extra };`,
  ].join('\n');
  const flattenSource = [
    `const flat = { ${required.map(([key]) => `${q(key)}: m[${q(key)}]`).join(', ')} };`,
    ...optional.map(([key]) => `if (m[${q(key)}] !== null && m[${q(key)}] !== undefined) flat[${q(key)}] = m[${q(key)}];`),
    'const extra = m.extra;',
    'if (isPlainObject(extra)) for (const key in extra) if (!(key in flat)) flat[key] = extra[key];',
    'return flat;',
  ].join('\n');
  const checks = kinds.map((kind) => (value: unknown) => matchesKind(value, kind));
  const names = ['standard', 'isPlainObject', ...kinds.map((_, i) => `is${i}`)];
  const values = [standard, isPlainObject, ...checks];
  return {
    type: new Function(...names, `return function typeMetadata(m) {\n${typeSource}\n};`)(...values) as TypeFn,
    flatten: new Function(...names, `return function flattenMetadata(m) {\n${flattenSource}\n};`)(...values) as FlattenFn,
  };
}

const COMPILED = new Map(Object.entries(METADATA_RULES).map(([type, rule]) => [type, compileRule(rule)]));

/** 1.x JSON metadata -> 2.0.0 metadata record for the event type. */
export function typeMetadata(eventType: string, metadata: unknown): MetadataV2 | null {
  if (metadata === null || metadata === undefined) return null;
  const rule = COMPILED.get(eventType);
  if (!rule || !isPlainObject(metadata)) return { untyped: metadata as JsonObject };
  return rule.type(metadata);
}

/** 2.0.0 metadata record -> 1.x JSON metadata. */
export function flattenMetadata(eventType: string, metadata: unknown): JsonObject | null {
  if (metadata === null || metadata === undefined) return null;
  if (!isPlainObject(metadata)) {
    throw onexError('ONEX_SCHEMA_702', `The metadata of a 2.0.0 ${eventType} event must be a metadata record.`);
  }
  if ('untyped' in metadata) return metadata.untyped as JsonObject;
  const rule = COMPILED.get(eventType);
  if (!rule) {
    throw onexError('ONEX_SCHEMA_702', `${eventType} events have no typed metadata in 2.0.0; their metadata must be { untyped: {...} }.`);
  }
  return rule.flatten(metadata);
}

function errorInfo(code: string): ErrorInfo {
  const info = isOnexCode(code) ? ONEX_CODES[code] : undefined;
  return { code, severity: info?.severity ?? null, recoverable: info?.recoverable ?? null };
}

/** 1.3.0 -> 2.0.0. */
export function upcastToV2(event: OnexEventV1_3): OnexEventV2_0 {
  const metadata = event.metadata;
  let code = event.error_code;
  if ((code === null || code === undefined) && isPlainObject(metadata) && typeof metadata.error_code === 'string') {
    code = metadata.error_code;
  }
  const traceId = event.trace_id;
  return {
    event_id: event.event_id,
    timestamp: event.timestamp,
    node_id: event.node_id,
    event_type: event.event_type,
    schema_version: '2.0.0',
    correlation_id: event.correlation_id ?? null,
    parent_correlation_id: event.parent_correlation_id ?? null,
    trace: traceId === null || traceId === undefined ? null : { trace_id: traceId, span_id: null, trace_flags: 0 },
    error: code === null || code === undefined ? null : errorInfo(code),
    sample_rate: event.sample_rate ?? 1,
    replay: event.replay ?? null,
    security: null,
    metadata: typeMetadata(event.event_type, metadata),
  } as OnexEventV2_0;
}

/** 2.0.0 -> 1.3.0. */
export function downcastToV1_3(event: OnexEventV2_0): OnexEventV1_3 {
  const security = event.security;
  if (security && security.encrypted_fields && security.encrypted_fields.length > 0) {
    throw onexError(
      'ONEX_SCHEMA_702',
      `Event ${event.event_id} has encrypted fields (${security.encrypted_fields.join(', ')}); 1.3.0 cannot mark them, so decrypt it before downcasting.`,
    );
  }
  return {
    event_id: event.event_id,
    timestamp: event.timestamp,
    node_id: event.node_id,
    event_type: event.event_type,
    correlation_id: event.correlation_id ?? null,
    metadata: flattenMetadata(event.event_type, event.metadata),
    schema_version: '1.3.0',
    error_code: event.error?.code ?? null,
    parent_correlation_id: event.parent_correlation_id ?? null,
    trace_id: event.trace?.trace_id ?? null,
    sample_rate: event.sample_rate ?? 1,
    replay: event.replay ?? null,
  };
}

/** Avro union branch (full record name) of the 2.0.0 metadata of each typed event type. */
export const V2_METADATA_BRANCHES: Readonly<Record<TypedEventType, string>> = Object.freeze({
  NODE_START: 'onex.event.NodeStartMetadata',
  NODE_SUCCESS: 'onex.event.NodeSuccessMetadata',
  NODE_FAILURE: 'onex.event.NodeFailureMetadata',
  TELEMETRY_OPERATION_START: 'onex.event.TelemetryOperationStartMetadata',
  TELEMETRY_OPERATION_SUCCESS: 'onex.event.TelemetryOperationSuccessMetadata',
  TELEMETRY_OPERATION_ERROR: 'onex.event.TelemetryOperationErrorMetadata',
  PERFORMANCE_PROFILE: 'onex.event.PerformanceProfileMetadata',
});
export const V2_UNTYPED_BRANCH = 'onex.event.UntypedMetadata';
