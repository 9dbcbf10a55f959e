import { onexError, type OnexCode, type ValidationError } from '../errors/index.js';
import { ALL_EVENT_TYPES, EVENT_TYPES, UNKNOWN_EVENT_TYPE } from './event-types.js';
import { DEFAULT_LIMITS, inspectJson, jsonByteSize, type EventLimits } from './limits.js';
import { isPlainObject, matchesKind, metadataRuleOf, type MetadataRule } from './metadata-rules.js';
import { parseTimestamp } from './timestamp.js';
import { FIELDS_SINCE, FIELDS_UNTIL } from './generated/schema-tables.js';
import { DEFAULT_EVENT_VERSION, majorOf, readVersion, SCHEMA_VERSIONS, versionAtLeast, type SchemaVersion } from './versions.js';

/**
 * Event validation. Strict mode throws the first violation as a ValidationError (every violation is in its
 * details); non-strict mode returns them all so that the caller counts and logs them while the event goes on.
 */
export type ValidationMode = 'strict' | 'non-strict';

export interface ValidateOptions {
  /** Default strict. */
  mode?: ValidationMode;
  limits?: Partial<EventLimits>;
}

export interface ValidationIssue {
  readonly code: OnexCode;
  /** Where in the event: "node_id", "metadata.input_state". */
  readonly path: string;
  readonly message: string;
}

export interface ValidationResult {
  readonly valid: boolean;
  /** The schema version the event was checked against; undefined when it names none we know. */
  readonly version: SchemaVersion | undefined;
  /** One typed error per violation, ONEX_VALID_1xx codes, details.path says where. Frozen and shared when empty. */
  readonly errors: readonly ValidationError[];
}

const HEX_DIGIT = new Uint8Array(128);
for (const c of '0123456789abcdefABCDEF') HEX_DIGIT[c.charCodeAt(0)] = 1;
/** Where a UUID's hex digits are: everywhere but the four dashes of 8-4-4-4-12. */
const UUID_DIGITS = Uint8Array.from({ length: 36 }, (_, i) => i).filter((i) => i !== 8 && i !== 13 && i !== 18 && i !== 23);

/**
 * 8-4-4-4-12 hex digits, either case. By hand rather than a regular expression: every event id goes through here,
 * and this costs half of what the /i expression did.
 */
export function isUuid(s: string): boolean {
  if (s.length !== 36 || s.charCodeAt(8) !== 45 || s.charCodeAt(13) !== 45 || s.charCodeAt(18) !== 45 || s.charCodeAt(23) !== 45) return false;
  for (let i = 0; i < 32; i++) {
    const c = s.charCodeAt(UUID_DIGITS[i]!);
    if (c > 127 || HEX_DIGIT[c] === 0) return false;
  }
  return true;
}
const ONEX_CODE = /^ONEX_[A-Z]+_\d{3}$/;

// Which version introduced and which removed each top-level field: generated from avro/ (src/event/generated/).
export { FIELDS_SINCE, FIELDS_UNTIL };

const SEVERITIES = ['CRITICAL', 'ERROR', 'WARNING', 'INFO'];
const RECOVERABILITIES = ['No', 'Yes', 'Retry'];

/** What one version has, worked out once: validation runs per event, and comparing version strings there added up. */
interface VersionFacts {
  readonly major: number;
  readonly eventTypes: ReadonlySet<string>;
  /** Fields of later versions, by the version that introduced them. */
  readonly tooNew: ReadonlyMap<string, SchemaVersion>;
  /** Fields a MAJOR version up to this one removed. */
  readonly removed: ReadonlySet<string>;
  readonly has: (field: string) => boolean;
}

const FACTS = new Map<SchemaVersion, VersionFacts>(
  SCHEMA_VERSIONS.map((version) => {
    const tooNew = new Map(Object.entries(FIELDS_SINCE).filter(([, since]) => !versionAtLeast(version, since)));
    const removed = new Set(Object.entries(FIELDS_UNTIL).filter(([, until]) => versionAtLeast(version, until)).map(([f]) => f));
    return [version, { major: majorOf(version), eventTypes: new Set(EVENT_TYPES[version]), tooNew, removed, has: (field: string) => !tooNew.has(field) }];
  }),
);

const KNOWN_TYPES = new Set<unknown>(ALL_EVENT_TYPES);

/** The violations found so far; the list is made on the first one, since nearly every event has none. */
class Issues {
  list: ValidationIssue[] | undefined = undefined;
  constructor(readonly limits: EventLimits) {}
  add(code: OnexCode, path: string, message: string): void {
    (this.list ??= []).push({ code, path, message });
  }
}

const limitsOf = (options: ValidateOptions): EventLimits => (options.limits ? { ...DEFAULT_LIMITS, ...options.limits } : DEFAULT_LIMITS);

export function validateEvent(event: unknown, options: ValidateOptions = {}): ValidationResult {
  const issues = new Issues(limitsOf(options));
  const version = checkEvent(event, issues, undefined);
  return finish(issues, version, options.mode ?? 'strict');
}

/**
 * Validates an event as a schema decoder hands it over (OnexEventCodec.decode into `version`), with the same codes,
 * paths and messages as validateEvent. The Avro schema of `version` already guarantees what validateEvent spends most
 * of its time on: the version itself, a well-formed UTC timestamp (it was epoch microseconds), no field of another
 * version, and JSON-only metadata values. What a schema cannot say is checked as validateEvent does: event_id a UUID,
 * node_id not empty, the event type one of the version's, ONEX code formats, ranges (sample_rate, trace_flags, replay
 * speed), non-empty trace and security ids, the metadata standard of the event type, the size and depth limits.
 * The field types are still looked at (that costs next to nothing), so a decoder that breaks its promise gets type
 * errors, not a crash. An event type no version knows (UNKNOWN above all) is the reader's stand-in for a newer
 * writer's type and passes. Default mode: strict, as validateEvent.
 */
export function validateDecodedEvent(event: unknown, version: SchemaVersion, options: ValidateOptions = {}): ValidationResult {
  const issues = new Issues(limitsOf(options));
  checkEvent(event, issues, version);
  return finish(issues, isPlainObject(event) ? version : undefined, options.mode ?? 'strict');
}

/** One frozen result per version for the events that pass, which is nearly all of them. */
const VALID = new Map<SchemaVersion | undefined, ValidationResult>(
  [...SCHEMA_VERSIONS, undefined].map((version) => [version, Object.freeze({ valid: true, version, errors: Object.freeze([]) })]),
);

function finish(issues: Issues, version: SchemaVersion | undefined, mode: ValidationMode): ValidationResult {
  const list = issues.list;
  if (list === undefined) return VALID.get(version)!;
  return enforceValidation({ valid: false, version, errors: list.map(toError) }, mode);
}

/**
 * The one place that says what a validation mode means, for every caller (the producer, the worker, the CloudEvents
 * reader): strict throws the first violation as a ValidationError with every violation in details.violations;
 * non-strict hands the result back, and the caller counts and logs its errors while the event goes on.
 */
export function enforceValidation(result: ValidationResult, mode: ValidationMode): ValidationResult {
  if (result.valid || mode !== 'strict') return result;
  const first = result.errors[0]!;
  const violations = result.errors.map((e) => ({ code: e.code, path: String(e.details?.path ?? ''), message: e.message }));
  throw onexError(first.code, first.message, { details: { path: first.details?.path, violations } }) as ValidationError;
}

/** Validates only the metadata of an event type, as the 1.x JSON form (2.0.0 typed records: flatten them first). */
export function validateMetadata(
  eventType: string,
  metadata: unknown,
  options: ValidateOptions = {},
): ValidationResult {
  const issues = new Issues(limitsOf(options));
  checkMetadataV1(eventType, metadata, issues);
  const errors = (issues.list ?? []).map(toError);
  return enforceValidation({ valid: errors.length === 0, version: undefined, errors }, options.mode ?? 'strict');
}

function toError(issue: ValidationIssue): ValidationError {
  return onexError(issue.code, issue.message, { details: { path: issue.path } }) as ValidationError;
}

/** A schema_version string resolved to a known version, or why it cannot be. */
type Resolution = { version: SchemaVersion; exact: boolean } | { code: OnexCode; message: string };

/** Resolutions of the schema_version strings seen lately: a handful in practice, bounded since events choose them. */
const resolutions = new Map<string, Resolution>();

/** The schema version named by schema_version, resolved to a known one (PATCH to its MINOR, newer MINOR to ours). */
function versionOf(event: Record<string, unknown>, issues: Issues): { version: SchemaVersion; exact: boolean } | undefined {
  const raw = event.schema_version;
  if (raw === undefined || raw === null) return { version: DEFAULT_EVENT_VERSION, exact: true };
  if (typeof raw !== 'string') {
    issues.add('ONEX_VALID_104', 'schema_version', `schema_version must be a string like "1.2.0", got ${typeName(raw)}.`);
    return undefined;
  }
  let resolved = resolutions.get(raw);
  if (!resolved) {
    if (resolutions.size >= 64) resolutions.clear();
    resolutions.set(raw, (resolved = resolveVersion(raw)));
  }
  if ('code' in resolved) {
    issues.add(resolved.code, 'schema_version', resolved.message);
    return undefined;
  }
  return resolved;
}

function resolveVersion(raw: string): Resolution {
  const reading = readVersion(raw);
  if (!('unreadable' in reading)) return reading;
  if (reading.unreadable === 'not-semver') return { code: 'ONEX_VALID_107', message: `schema_version "${raw}" is not a MAJOR.MINOR.PATCH version.` };
  return { code: 'ONEX_VALID_107', message: `schema_version ${raw} is not a version this pipeline knows (it knows ${SCHEMA_VERSIONS.join(', ')}).` };
}

/** `decodedAs`: the event came from the schema decoder of that version (see validateDecodedEvent). */
function checkEvent(event: unknown, issues: Issues, decodedAs: SchemaVersion | undefined): SchemaVersion | undefined {
  if (!isPlainObject(event)) {
    issues.add('ONEX_VALID_104', '', `an event must be a JSON object, got ${typeName(event)}.`);
    return undefined;
  }
  let version: SchemaVersion, exact: boolean;
  if (decodedAs) {
    version = decodedAs;
    exact = false;
  } else {
    const resolved = versionOf(event, issues);
    if (!resolved) return undefined;
    ({ version, exact } = resolved);
  }
  const facts = FACTS.get(version)!;

  requireUuid(event, 'event_id', issues);
  const ts = event.timestamp;
  if (ts === undefined || ts === null) issues.add('ONEX_VALID_103', 'timestamp', 'timestamp is missing.');
  else if (!decodedAs || typeof ts !== 'string') checkTimestamp(ts, 'timestamp', issues);

  const nodeId = event.node_id;
  if (nodeId === undefined || nodeId === null) issues.add('ONEX_VALID_103', 'node_id', 'node_id is missing.');
  else if (typeof nodeId !== 'string') issues.add('ONEX_VALID_104', 'node_id', `node_id must be a string, got ${typeName(nodeId)}.`);
  else if (nodeId.trim() === '') issues.add('ONEX_VALID_105', 'node_id', 'node_id must not be empty.');

  const eventType = event.event_type;
  let typeKnown = false;
  // Reader side, a type no version knows (UNKNOWN, the enum default an older reader sees for a type a newer writer
  // added) is not a violation: the producer named a real type, and the rule is "pass it to the catch-all", not
  // "reject it" (docs/protocol.md section 2). Producers are held to naming one (the checks below).
  if (decodedAs && !KNOWN_TYPES.has(eventType as string)) {
    // nothing to check
  } else if (eventType === undefined || eventType === null) issues.add('ONEX_VALID_103', 'event_type', 'event_type is missing.');
  else if (typeof eventType !== 'string') issues.add('ONEX_VALID_104', 'event_type', `event_type must be a string, got ${typeName(eventType)}.`);
  else if (eventType === UNKNOWN_EVENT_TYPE) issues.add('ONEX_VALID_106', 'event_type', `event_type UNKNOWN stands for a type this reader does not know; producers must name the type.`);
  else if (!facts.eventTypes.has(eventType)) {
    issues.add('ONEX_VALID_106', 'event_type', `event_type ${eventType} is not an event type of schema ${version}.`);
  } else typeKnown = true;

  optionalString(event, 'correlation_id', issues);

  // Fields of versions after the event's own would be dropped silently when encoding with its schema.
  if (exact) {
    for (const field of Object.keys(event)) {
      if (field === 'schema_version' || event[field] === undefined) continue; // "1.0.0" written out is the same as leaving it out
      const from = facts.tooNew.get(field);
      if (from) {
        issues.add('ONEX_VALID_107', field, `${field} needs schema ${from} or later; the event is ${version} (set schema_version).`);
      } else if (facts.removed.has(field)) {
        issues.add('ONEX_VALID_107', field, `${field} is not part of schema ${version}; ${field === 'trace_id' ? 'use trace.trace_id' : 'use error.code'}.`);
      }
    }
  }

  if (facts.major === 1) {
    if (facts.has('error_code')) {
      optionalErrorCode(event.error_code, 'error_code', issues);
      optionalString(event, 'parent_correlation_id', issues);
      optionalString(event, 'trace_id', issues);
    }
  } else {
    optionalString(event, 'parent_correlation_id', issues);
    checkTrace(event.trace, issues);
    checkErrorInfo(event.error, issues);
    checkSecurity(event.security, issues);
  }
  if (facts.has('sample_rate')) checkSampleRate(event.sample_rate, issues);
  if (facts.has('replay')) checkReplay(event.replay, issues);

  const type = typeKnown ? (eventType as string) : undefined;
  if (facts.major === 1) checkMetadataV1(type, event.metadata, issues);
  else checkMetadataV2(type, event.metadata, issues);
  return version;
}

// ---- metadata ----

function checkMetadataV1(eventType: string | undefined, metadata: unknown, issues: Issues, base = 'metadata'): void {
  const rule = eventType === undefined ? undefined : metadataRuleOf(eventType);
  if (metadata === undefined || metadata === null) {
    if (rule) for (const key of Object.keys(rule.required)) issues.add('ONEX_VALID_103', `${base}.${key}`, `${eventType} events need metadata.${key}, and the event has no metadata.`);
    return;
  }
  if (!isPlainObject(metadata)) {
    issues.add('ONEX_VALID_104', base, `metadata must be a JSON object, got ${typeName(metadata)}.`);
    return;
  }
  if (!checkLimits(metadata, issues, base)) return;
  if (rule) checkRule(eventType!, rule, metadata, issues, base);
}

/** Depth, JSON-ness and sizes; false when the metadata cannot be looked at further. */
function checkLimits(metadata: Record<string, unknown>, issues: Issues, base: string): boolean {
  const limits = issues.limits;
  const bound = plainJsonBound(metadata, limits.maxDepth);
  // Nearly every event's metadata is plain JSON well within the limits: then nothing more needs to be known.
  if (bound >= 0 && bound <= limits.maxValueBytes && bound < limits.maxMetadataBytes) return true;
  const shape = inspectJson(metadata, limits.maxDepth, base);
  if (shape.depth > limits.maxDepth) {
    issues.add('ONEX_VALID_105', base, `metadata is nested deeper than ${limits.maxDepth} levels.`);
    return false;
  }
  if (shape.problem) {
    issues.add('ONEX_VALID_104', shape.problem.path, `metadata is not JSON-serialisable: ${shape.problem.reason} at ${shape.problem.path}.`);
    return false;
  }
  // The bound is under the per-value limit for nearly every event: then neither limit can be crossed, and the
  // metadata need not be serialised here at all.
  if (shape.maxJsonBytes <= limits.maxValueBytes && shape.maxJsonBytes < limits.maxMetadataBytes) return true;
  const total = jsonByteSize(metadata);
  if (total === undefined) {
    issues.add('ONEX_VALID_104', base, `${base} is not JSON-serialisable.`);
    return false;
  }
  if (total >= limits.maxMetadataBytes) {
    issues.add('ONEX_VALID_105', base, `metadata is ${kb(total)} serialised; it must stay under ${kb(limits.maxMetadataBytes)}.`);
  }
  // No single value can be over the per-value limit when the whole metadata is not: one serialisation suffices.
  if (total > limits.maxValueBytes) {
    for (const [key, value] of Object.entries(metadata)) {
      const size = value === undefined ? 0 : (jsonByteSize(value) ?? 0);
      if (size > limits.maxValueBytes) {
        issues.add('ONEX_VALID_105', `${base}.${key}`, `${base}.${key} is ${kb(size)} serialised, over the ${kb(limits.maxValueBytes)} limit.`);
      }
    }
  }
  return true;
}

/**
 * An upper bound of the UTF-8 size of a value's JSON text when the value is plain JSON no deeper than `depthLeft`
 * levels, else -1 (then inspectJson says what is wrong and where). The common case in one walk that allocates nothing;
 * the bound per item is inspectJson's.
 */
function plainJsonBound(v: unknown, depthLeft: number): number {
  switch (typeof v) {
    case 'string':
      return 6 * v.length + 2;
    case 'number':
      return v - v === 0 ? 25 : -1; // NaN and the infinities are not JSON
    case 'boolean':
      return 5;
    case 'object':
      break;
    default:
      return -1;
  }
  if (v === null) return 4;
  if (depthLeft === 0) return -1;
  let bytes = 2;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto === Array.prototype) {
    const items = v as unknown[];
    for (let i = 0; i < items.length; i++) {
      const item = plainJsonBound(items[i], depthLeft - 1); // undefined in an array: -1, as JSON has no place for it
      if (item < 0) return -1;
      bytes += item + 1;
    }
    return bytes;
  }
  // JSON.parse and the decoders make Object.prototype objects; anything else is asked the long way.
  if (proto !== Object.prototype && !isPlainObject(v)) return -1;
  for (const key in v) {
    const child = (v as Record<string, unknown>)[key];
    if (child === undefined) continue;
    const item = plainJsonBound(child, depthLeft - 1);
    if (item < 0) return -1;
    bytes += 6 * key.length + 4 + item;
  }
  return bytes;
}

/** `extra`: the metadata is a 2.0.0 typed record, and a standard field it leaves null may come from its extra. */
function checkRule(eventType: string, rule: MetadataRule, metadata: Record<string, unknown>, issues: Issues, base: string, extra?: Record<string, unknown>): void {
  for (const key in rule.required) {
    const value = extra ? typedOrExtra(metadata, extra, key) : metadata[key];
    if (value === undefined || value === null) {
      issues.add('ONEX_VALID_103', `${base}.${key}`, `${eventType} events need metadata.${key} (${rule.required[key]!.kind}).`);
    } else checkField(eventType, key, rule.required[key]!, value, issues, base);
  }
  for (const key in rule.optional) {
    const value = extra ? typedOrExtra(metadata, extra, key) : metadata[key];
    if (value !== undefined && value !== null) checkField(eventType, key, rule.optional[key]!, value, issues, base);
  }
}

function checkField(
  eventType: string,
  key: string,
  field: { kind: string; literal?: boolean },
  value: unknown,
  issues: Issues,
  base: string,
): void {
  if (!matchesKind(value, field.kind as never)) {
    issues.add('ONEX_VALID_104', `${base}.${key}`, `metadata.${key} of ${eventType} events must be ${article(field.kind)}, got ${typeName(value)}.`);
  } else if (field.literal !== undefined && value !== field.literal) {
    issues.add('ONEX_VALID_105', `${base}.${key}`, `metadata.${key} of ${eventType} events must be ${field.literal}.`);
  }
}

function checkMetadataV2(eventType: string | undefined, metadata: unknown, issues: Issues): void {
  const rule = eventType === undefined ? undefined : metadataRuleOf(eventType);
  if (metadata === undefined || metadata === null) {
    checkMetadataV1(eventType, metadata, issues);
    return;
  }
  if (!isPlainObject(metadata)) {
    issues.add('ONEX_VALID_104', 'metadata', `metadata must be a metadata record, got ${typeName(metadata)}.`);
    return;
  }
  if ('untyped' in metadata) {
    // Carried as it is: the standard of its type, if any, still applies.
    checkMetadataV1(eventType, metadata.untyped, issues, 'metadata.untyped');
    return;
  }
  if (!rule) {
    if (eventType !== undefined) issues.add('ONEX_VALID_104', 'metadata', `${eventType} events have no typed metadata in 2.0.0; wrap it as { untyped: {...} }.`);
    return;
  }
  const extra = metadata.extra;
  if (typedWithinLimits(eventType!, rule, metadata, extra, issues)) return;
  const flat: Record<string, unknown> = {};
  for (const key of Object.keys(metadata)) {
    if (key === 'extra') continue;
    const value = metadata[key];
    if (!Object.hasOwn(rule.required, key) && !Object.hasOwn(rule.optional, key)) {
      if (value !== undefined && value !== null) issues.add('ONEX_VALID_105', `metadata.${key}`, `${key} is not a field of ${eventType} metadata; put it in metadata.extra.`);
      continue;
    }
    if (value !== null) flat[key] = value;
  }
  if (extra !== undefined && extra !== null) {
    if (!isPlainObject(extra)) issues.add('ONEX_VALID_104', 'metadata.extra', `metadata.extra must be a JSON object, got ${typeName(extra)}.`);
    else for (const key of Object.keys(extra)) if (!Object.hasOwn(flat, key)) flat[key] = extra[key];
  }
  checkMetadataV1(eventType, flat, issues);
}

/**
 * The usual typed record, checked without merging it and its extra into one object first: true when it has only the
 * standard's fields and an extra object, and both together are plain JSON within the limits; then the standard is
 * checked here. False (nothing reported): the caller merges and checks the long way, which says what is wrong.
 */
function typedWithinLimits(eventType: string, rule: MetadataRule, metadata: Record<string, unknown>, extra: unknown, issues: Issues): boolean {
  const extraObject = extra === undefined || extra === null ? undefined : isPlainObject(extra) ? extra : null;
  if (extraObject === null) return false;
  const { maxDepth, maxValueBytes, maxMetadataBytes } = issues.limits;
  let bytes = 2;
  for (const key in metadata) {
    if (key === 'extra') continue;
    const value = metadata[key];
    if (!Object.hasOwn(rule.required, key) && !Object.hasOwn(rule.optional, key)) {
      if (value !== undefined && value !== null) return false;
    } else if (value !== null) {
      const b = value === undefined ? -1 : plainJsonBound(value, maxDepth - 1);
      if (b < 0) return false;
      bytes += 6 * key.length + 4 + b;
    }
  }
  if (extraObject) {
    for (const key in extraObject) {
      const value = extraObject[key];
      if (value === undefined || (Object.hasOwn(metadata, key) && metadata[key] !== null && (Object.hasOwn(rule.required, key) || Object.hasOwn(rule.optional, key)))) continue;
      const b = plainJsonBound(value, maxDepth - 1);
      if (b < 0) return false;
      bytes += 6 * key.length + 4 + b;
    }
  }
  if (bytes > maxValueBytes || bytes >= maxMetadataBytes) return false;
  checkRule(eventType, rule, metadata, issues, 'metadata', extraObject);
  return true;
}

/** A standard field as the merged metadata would have it: the typed value unless null, else extra's. */
function typedOrExtra(metadata: Record<string, unknown>, extra: Record<string, unknown>, key: string): unknown {
  const typed = metadata[key];
  if (typed !== null && Object.hasOwn(metadata, key)) return typed;
  return Object.hasOwn(extra, key) ? extra[key] : undefined;
}

// ---- envelope fields ----

function requireUuid(event: Record<string, unknown>, key: string, issues: Issues): void {
  const value = event[key];
  if (value === undefined || value === null) issues.add('ONEX_VALID_103', key, `${key} is missing.`);
  else if (typeof value !== 'string') issues.add('ONEX_VALID_104', key, `${key} must be a UUID string, got ${typeName(value)}.`);
  else if (!isUuid(value)) issues.add('ONEX_VALID_105', key, `${key} "${clip(value)}" is not a UUID.`);
}

function checkTimestamp(value: unknown, path: string, issues: Issues): void {
  if (typeof value !== 'string') {
    issues.add('ONEX_VALID_104', path, `${path} must be an ISO-8601 string, got ${typeName(value)}.`);
    return;
  }
  const parsed = parseTimestamp(value);
  if (!parsed) issues.add('ONEX_VALID_105', path, `${path} "${clip(value)}" is not a valid ISO-8601 date-time.`);
  else if (!parsed.utc) issues.add('ONEX_VALID_105', path, `${path} "${clip(value)}" is not in UTC (end it with Z).`);
}

function optionalString(event: Record<string, unknown>, key: string, issues: Issues, base = ''): void {
  const value = event[key];
  if (value !== undefined && value !== null && typeof value !== 'string') {
    issues.add('ONEX_VALID_104', base + key, `${base}${key} must be a string, got ${typeName(value)}.`);
  }
}

function optionalErrorCode(value: unknown, path: string, issues: Issues): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string') issues.add('ONEX_VALID_104', path, `${path} must be a string, got ${typeName(value)}.`);
  else if (!ONEX_CODE.test(value)) issues.add('ONEX_VALID_105', path, `${path} "${clip(value)}" is not an ONEX code like ONEX_EVENT_602.`);
}

function checkSampleRate(value: unknown, issues: Issues): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) issues.add('ONEX_VALID_104', 'sample_rate', `sample_rate must be a number, got ${typeName(value)}.`);
  else if (value <= 0 || value > 1) issues.add('ONEX_VALID_105', 'sample_rate', `sample_rate ${value} is outside (0, 1].`);
}

function checkReplay(value: unknown, issues: Issues): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    issues.add('ONEX_VALID_104', 'replay', `replay must be a record, got ${typeName(value)}.`);
    return;
  }
  const id = value.original_event_id;
  if (id === undefined || id === null) issues.add('ONEX_VALID_103', 'replay.original_event_id', 'replay.original_event_id is missing.');
  else if (typeof id !== 'string' || !isUuid(id)) issues.add('ONEX_VALID_105', 'replay.original_event_id', 'replay.original_event_id must be a UUID.');
  if (value.replayed_at === undefined || value.replayed_at === null) issues.add('ONEX_VALID_103', 'replay.replayed_at', 'replay.replayed_at is missing.');
  else checkTimestamp(value.replayed_at, 'replay.replayed_at', issues);
  const speed = value.speed;
  if (speed !== undefined && (typeof speed !== 'number' || !(speed > 0) || !Number.isFinite(speed))) {
    issues.add('ONEX_VALID_105', 'replay.speed', 'replay.speed must be a positive number.');
  }
  optionalString(value, 'replay_id', issues, 'replay.');
}

function checkTrace(value: unknown, issues: Issues): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    issues.add('ONEX_VALID_104', 'trace', `trace must be a record, got ${typeName(value)}.`);
    return;
  }
  if (typeof value.trace_id !== 'string' || value.trace_id === '') issues.add('ONEX_VALID_103', 'trace.trace_id', 'trace.trace_id must be a non-empty string.');
  optionalString(value, 'span_id', issues, 'trace.');
  const flags = value.trace_flags;
  if (flags !== undefined && (!Number.isInteger(flags) || (flags as number) < 0 || (flags as number) > 255)) {
    issues.add('ONEX_VALID_105', 'trace.trace_flags', 'trace.trace_flags must be an integer from 0 to 255.');
  }
}

function checkErrorInfo(value: unknown, issues: Issues): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    issues.add('ONEX_VALID_104', 'error', `error must be a record, got ${typeName(value)}.`);
    return;
  }
  if (value.code === undefined || value.code === null) issues.add('ONEX_VALID_103', 'error.code', 'error.code is missing.');
  else optionalErrorCode(value.code, 'error.code', issues);
  if (value.severity != null && !SEVERITIES.includes(value.severity as string)) {
    issues.add('ONEX_VALID_106', 'error.severity', `error.severity must be one of ${SEVERITIES.join(', ')}.`);
  }
  if (value.recoverable != null && !RECOVERABILITIES.includes(value.recoverable as string)) {
    issues.add('ONEX_VALID_106', 'error.recoverable', `error.recoverable must be one of ${RECOVERABILITIES.join(', ')}.`);
  }
}

function checkSecurity(value: unknown, issues: Issues): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    issues.add('ONEX_VALID_104', 'security', `security must be a record, got ${typeName(value)}.`);
    return;
  }
  for (const key of ['key_id', 'algorithm']) {
    if (typeof value[key] !== 'string' || value[key] === '') issues.add('ONEX_VALID_103', `security.${key}`, `security.${key} must be a non-empty string.`);
  }
  optionalString(value, 'signature', issues, 'security.');
  const fields = value.encrypted_fields;
  if (fields !== undefined && !(Array.isArray(fields) && fields.every((f) => typeof f === 'string'))) {
    issues.add('ONEX_VALID_104', 'security.encrypted_fields', 'security.encrypted_fields must be a list of strings.');
  }
}

// ---- wording ----

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return `${article(typeof value)}`;
}

function article(kind: string): string {
  if (kind === 'string[]') return 'a list of strings';
  if (kind === 'int' || kind === 'long') return 'an integer';
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

function kb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
