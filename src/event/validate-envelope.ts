import { isPlainObject } from './metadata-rules.js';
import { parseTimestamp } from './timestamp.js';
import { clip, typeName, type Issues } from './validation-issues.js';

/**
 * The checks of an event's envelope fields (ids, timestamps, ONEX codes, sample rate, replay marker, trace, error,
 * security), each adding what it finds to the Issues of one validation (validate.ts runs them).
 */

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

const SEVERITIES = ['CRITICAL', 'ERROR', 'WARNING', 'INFO'];
const RECOVERABILITIES = ['No', 'Yes', 'Retry'];

export function requireUuid(event: Record<string, unknown>, key: string, issues: Issues): void {
  const value = event[key];
  if (value === undefined || value === null) issues.add('ONEX_VALID_103', key, `${key} is missing.`);
  else if (typeof value !== 'string') issues.add('ONEX_VALID_104', key, `${key} must be a UUID string, got ${typeName(value)}.`);
  else if (!isUuid(value)) issues.add('ONEX_VALID_105', key, `${key} "${clip(value)}" is not a UUID.`);
}

export function checkTimestamp(value: unknown, path: string, issues: Issues): void {
  if (typeof value !== 'string') {
    issues.add('ONEX_VALID_104', path, `${path} must be an ISO-8601 string, got ${typeName(value)}.`);
    return;
  }
  const parsed = parseTimestamp(value);
  if (!parsed) issues.add('ONEX_VALID_105', path, `${path} "${clip(value)}" is not a valid ISO-8601 date-time.`);
  else if (!parsed.utc) issues.add('ONEX_VALID_105', path, `${path} "${clip(value)}" is not in UTC (end it with Z).`);
}

export function optionalString(event: Record<string, unknown>, key: string, issues: Issues, base = ''): void {
  const value = event[key];
  if (value !== undefined && value !== null && typeof value !== 'string') {
    issues.add('ONEX_VALID_104', base + key, `${base}${key} must be a string, got ${typeName(value)}.`);
  }
}

export function optionalErrorCode(value: unknown, path: string, issues: Issues): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string') issues.add('ONEX_VALID_104', path, `${path} must be a string, got ${typeName(value)}.`);
  else if (!ONEX_CODE.test(value)) issues.add('ONEX_VALID_105', path, `${path} "${clip(value)}" is not an ONEX code like ONEX_EVENT_602.`);
}

export function checkSampleRate(value: unknown, issues: Issues): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) issues.add('ONEX_VALID_104', 'sample_rate', `sample_rate must be a number, got ${typeName(value)}.`);
  else if (value <= 0 || value > 1) issues.add('ONEX_VALID_105', 'sample_rate', `sample_rate ${value} is outside (0, 1].`);
}

export function checkReplay(value: unknown, issues: Issues): void {
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

export function checkTrace(value: unknown, issues: Issues): void {
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

export function checkErrorInfo(value: unknown, issues: Issues): void {
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

export function checkSecurity(value: unknown, issues: Issues): void {
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
