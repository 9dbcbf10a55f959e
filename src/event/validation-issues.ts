import type { OnexCode } from '../errors/index.js';
import type { EventLimits } from './limits.js';

/** What the checks of validate.ts, validate-envelope.ts and validate-metadata.ts collect, and how they word it. */

export interface ValidationIssue {
  readonly code: OnexCode;
  /** Where in the event: "node_id", "metadata.input_state". */
  readonly path: string;
  readonly message: string;
}

/** The violations found so far; the list is made on the first one, since nearly every event has none. */
export class Issues {
  list: ValidationIssue[] | undefined = undefined;
  constructor(readonly limits: EventLimits) {}
  add(code: OnexCode, path: string, message: string): void {
    (this.list ??= []).push({ code, path, message });
  }
}

// ---- wording ----

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return `${article(typeof value)}`;
}

export function article(kind: string): string {
  if (kind === 'string[]') return 'a list of strings';
  if (kind === 'int' || kind === 'long') return 'an integer';
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

export function kb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}

export function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
