import { onexError, type OnexCode, type ValidationError } from '../errors/index.js';
import { ALL_EVENT_TYPES, EVENT_TYPES, UNKNOWN_EVENT_TYPE } from './event-types.js';
import { DEFAULT_LIMITS, type EventLimits } from './limits.js';
import { isPlainObject } from './metadata-rules.js';
import { FIELDS_SINCE, FIELDS_UNTIL } from './generated/schema-tables.js';
import { DEFAULT_EVENT_VERSION, majorOf, readVersion, SCHEMA_VERSIONS, versionAtLeast, type SchemaVersion } from './versions.js';
import {
  checkErrorInfo,
  checkReplay,
  checkSampleRate,
  checkSecurity,
  checkTimestamp,
  checkTrace,
  optionalErrorCode,
  optionalString,
  requireUuid,
} from './validate-envelope.js';
import { checkMetadataV1, checkMetadataV2 } from './validate-metadata.js';
import { Issues, typeName, type ValidationIssue } from './validation-issues.js';

export { isUuid } from './validate-envelope.js';
export type { ValidationIssue } from './validation-issues.js';

/**
 * Event validation. Strict mode throws the first violation as a ValidationError (every violation is in its
 * details); non-strict mode returns them all so that the caller counts and logs them while the event goes on. This
 * file holds the entry points, the modes and the version an event is checked against; the checks are by concern in
 * validate-envelope.ts (the envelope fields) and validate-metadata.ts (metadata, its limits and standards).
 */
export type ValidationMode = 'strict' | 'non-strict';

export interface ValidateOptions {
  /** Default strict. */
  mode?: ValidationMode;
  limits?: Partial<EventLimits>;
}

export interface ValidationResult {
  readonly valid: boolean;
  /** The schema version the event was checked against; undefined when it names none we know. */
  readonly version: SchemaVersion | undefined;
  /** One typed error per violation, ONEX_VALID_1xx codes, details.path says where. Frozen and shared when empty. */
  readonly errors: readonly ValidationError[];
}

// Which version introduced and which removed each top-level field: generated from avro/ (src/event/generated/).
export { FIELDS_SINCE, FIELDS_UNTIL };

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

