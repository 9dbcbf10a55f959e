import { isOnexError } from '../../../src/errors/index.js';

/** What a call throws, as "ONEX_X_NNN: message" ("no error" when it returns; a foreign error as its text). */
export function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return isOnexError(err) ? `${err.code}: ${err.message}` : String(err);
  }
  return 'no error';
}

/** The ONEX code a call throws. */
export function errorCode(fn: () => unknown): string {
  return failure(fn).split(':', 1)[0]!;
}

/** A value as JSON would carry it: avsc record instances become plain objects, undefined fields go. */
export function plain(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}
