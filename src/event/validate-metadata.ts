import { inspectJson, jsonByteSize } from './limits.js';
import { isPlainObject, matchesKind, metadataRuleOf, type MetadataRule } from './metadata-rules.js';
import { article, kb, typeName, type Issues } from './validation-issues.js';

/**
 * The checks of an event's metadata: the 1.x JSON form and the 2.0.0 typed records (flattened with their extra), the
 * size and depth limits, and the metadata standard of the event type (metadata-rules.ts).
 */

export function checkMetadataV1(eventType: string | undefined, metadata: unknown, issues: Issues, base = 'metadata'): void {
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
  // One serialisation: each top-level value is sized once, and the whole metadata's size is theirs put together (the
  // JSON of a plain object is '{', its members '"key":value' without the undefined ones, joined by ',', then '}').
  // Sizing the whole and then each value again cost a second serialisation: 3 ms of a 900 KB event (bench/README.md).
  let total = 2;
  let members = 0;
  const oversized: Array<[string, number]> = [];
  for (const key of Object.keys(metadata)) {
    const value = metadata[key];
    if (value === undefined) continue;
    const size = jsonByteSize(value);
    if (size === undefined) {
      issues.add('ONEX_VALID_104', base, `${base} is not JSON-serialisable.`);
      return false;
    }
    total += (members++ > 0 ? 1 : 0) + jsonByteSize(key)! + 1 + size;
    if (size > limits.maxValueBytes) oversized.push([key, size]);
  }
  if (total >= limits.maxMetadataBytes) {
    issues.add('ONEX_VALID_105', base, `metadata is ${kb(total)} serialised; it must stay under ${kb(limits.maxMetadataBytes)}.`);
  }
  for (const [key, size] of oversized) {
    issues.add('ONEX_VALID_105', `${base}.${key}`, `${base}.${key} is ${kb(size)} serialised, over the ${kb(limits.maxValueBytes)} limit.`);
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

export function checkMetadataV2(eventType: string | undefined, metadata: unknown, issues: Issues): void {
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
