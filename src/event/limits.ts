import { isPlainObject } from './metadata-rules.js';

/**
 * Serialisation limits of the protocol (docs/protocol.md section 4). Defaults live here and nowhere else; callers
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
  /**
   * An upper bound of the UTF-8 size of the value's JSON text, found on the same walk: a string of n UTF-16 units
   * serialises to at most 6n + 2 bytes (\uXXXX escapes), a number to at most 25. Validation serialises the value
   * only when this bound could cross a limit, so a typical event is never stringified twice.
   */
  readonly maxJsonBytes: number;
}

const MAX_NUMBER_CHARS = 25; // -1.2345678901234567e-308
const stringBound = (s: string) => 6 * s.length + 2;

/**
 * Walks a value once: its nesting depth (an object or array is one level deeper than its deepest child; scalars are
 * depth 0), the first part that JSON cannot carry faithfully (functions, symbols, bigints, NaN and infinities,
 * class instances such as Date or Map, and undefined inside arrays), and a bound of its JSON size. Paths are built
 * from a key stack only when a problem is found: most values have none.
 */
export function inspectJson(value: unknown, depthLimit: number, path = ''): JsonShape {
  let problem: JsonProblem | undefined;
  let bytes = 0;
  const keys: Array<string | number> = [];
  const pathHere = (last?: string | number): string => {
    let at = path;
    for (const k of last === undefined ? keys : [...keys, last]) at = typeof k === 'number' ? `${at}[${k}]` : at ? `${at}.${k}` : k;
    return at;
  };
  const walk = (v: unknown, level: number): number => {
    if (v === null) {
      bytes += 4;
      return 0;
    }
    if (typeof v === 'string') {
      bytes += stringBound(v);
      return 0;
    }
    if (typeof v === 'boolean') {
      bytes += 5;
      return 0;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) problem ??= { path: pathHere(), reason: `${v} is not a JSON number` };
      bytes += MAX_NUMBER_CHARS;
      return 0;
    }
    if (Array.isArray(v)) {
      if (level > depthLimit) return 1;
      bytes += 2 + v.length;
      let deepest = 0;
      for (let i = 0; i < v.length; i++) {
        if (v[i] === undefined) problem ??= { path: pathHere(i), reason: 'undefined is not a JSON value' };
        keys.push(i);
        deepest = Math.max(deepest, walk(v[i], level + 1));
        keys.pop();
        if (deepest + level > depthLimit) break;
      }
      return deepest + 1;
    }
    if (isPlainObject(v)) {
      if (level > depthLimit) return 1;
      bytes += 2;
      let deepest = 0;
      for (const key in v) {
        const child = v[key];
        if (child === undefined) continue; // JSON leaves such keys out, as Python would never have them
        bytes += stringBound(key) + 2; // quotes, colon and comma
        keys.push(key);
        deepest = Math.max(deepest, walk(child, level + 1));
        keys.pop();
        if (deepest + level > depthLimit) break;
      }
      return deepest + 1;
    }
    const what = typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'non-plain'} object` : `a ${typeof v}`;
    problem ??= { path: pathHere(), reason: `${what} is not a JSON value` };
    return 0;
  };
  const depth = walk(value, 1);
  return { depth, problem, maxJsonBytes: bytes };
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
