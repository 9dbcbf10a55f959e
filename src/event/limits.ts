import { isPlainObject } from './metadata-rules.js';

/**
 * Serialisation limits of the protocol (onex-reference.md section 2). Defaults live here and nowhere else; callers
 * override single limits through `ValidateOptions.limits`.
 */
export interface EventLimits {
  /** Deepest nesting of the metadata object; the metadata object itself is depth 1. */
  readonly maxDepth: number;
  /** Largest serialised size of one top-level metadata value (input_state, output_state, context, ...), in bytes. */
  readonly maxValueBytes: number;
  /** Largest serialised size of the whole metadata, in bytes (exclusive: the protocol says "under 1 MB"). */
  readonly maxMetadataBytes: number;
}

export const DEFAULT_LIMITS: EventLimits = Object.freeze({
  maxDepth: 10,
  maxValueBytes: 100 * 1024,
  maxMetadataBytes: 1024 * 1024,
});

/** Why a value is not JSON, with the path to it; undefined when it is JSON. */
export interface JsonProblem {
  readonly path: string;
  readonly reason: string;
}

export interface JsonShape {
  /** Nesting depth, capped at limit + 1: the walk stops there, so a cyclic value cannot trap it. */
  readonly depth: number;
  readonly problem: JsonProblem | undefined;
}

/**
 * Walks a value once: its nesting depth (an object or array is one level deeper than its deepest child; scalars are
 * depth 0) and the first part that JSON cannot carry faithfully (functions, symbols, bigints, NaN and infinities,
 * class instances such as Date or Map, and undefined inside arrays).
 */
export function inspectJson(value: unknown, depthLimit: number, path = ''): JsonShape {
  let problem: JsonProblem | undefined;
  const walk = (v: unknown, level: number, at: string): number => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return 0;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) problem ??= { path: at, reason: `${v} is not a JSON number` };
      return 0;
    }
    if (Array.isArray(v)) {
      if (level > depthLimit) return 1;
      let deepest = 0;
      for (let i = 0; i < v.length; i++) {
        if (v[i] === undefined) problem ??= { path: `${at}[${i}]`, reason: 'undefined is not a JSON value' };
        deepest = Math.max(deepest, walk(v[i], level + 1, `${at}[${i}]`));
        if (deepest + level > depthLimit) break;
      }
      return deepest + 1;
    }
    if (isPlainObject(v)) {
      if (level > depthLimit) return 1;
      let deepest = 0;
      for (const key in v) {
        const child = v[key];
        if (child === undefined) continue; // JSON leaves such keys out, as Python would never have them
        deepest = Math.max(deepest, walk(child, level + 1, at ? `${at}.${key}` : key));
        if (deepest + level > depthLimit) break;
      }
      return deepest + 1;
    }
    const what = typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'non-plain'} object` : `a ${typeof v}`;
    problem ??= { path: at, reason: `${what} is not a JSON value` };
    return 0;
  };
  const depth = walk(value, 1, path);
  return { depth, problem };
}

/** UTF-8 size of the value's JSON text; undefined when it cannot be serialised (a cycle). */
export function jsonByteSize(value: unknown): number | undefined {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : Buffer.byteLength(text, 'utf8');
  } catch {
    return undefined;
  }
}
