/**
 * Event timestamps: ISO-8601 text in the event form (what ONEX JSON events carry), microseconds since the epoch on
 * the wire (Avro timestamp-micros). Both directions keep microsecond precision, which Date alone would lose.
 */

import { onexError } from '../errors/index.js';

// Date and time, optional fraction (up to nanoseconds, truncated to micros), and a zone: Z or +hh:mm / -hh:mm.
const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export interface ParsedTimestamp {
  /** Microseconds since the Unix epoch. */
  readonly micros: number;
  /** True when the text is written in UTC (Z, +00:00 or -00:00). */
  readonly utc: boolean;
}

export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  // Fast path for the form this pipeline writes (2025-05-25T14:17:21.178483Z): plain arithmetic, no regex or Date.
  if (text.length === 27 && text.charCodeAt(26) === 90 /* Z */) {
    const micros = parseCompact(text);
    if (micros !== undefined) return { micros, utc: true };
  }
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, dateTime, fraction = '', zone] = m as unknown as [string, string, string | undefined, string];
  const base = parseCompact(`${dateTime}.000000Z`);
  if (base === undefined) return undefined;
  let micros = base + Number(fraction.padEnd(6, '0').slice(0, 6));
  if (zone !== 'Z') {
    const sign = zone.charCodeAt(0) === 45 /* - */ ? -1 : 1;
    const offsetMinutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6));
    if (Number(zone.slice(4, 6)) > 59 || Number(zone.slice(1, 3)) > 23) return undefined;
    micros -= sign * offsetMinutes * 60_000_000;
  }
  return { micros, utc: zone === 'Z' || zone === '+00:00' || zone === '-00:00' };
}

/** Microseconds since the epoch of an ISO-8601 date-time (as parseTimestamp reads it), or undefined. */
export function timestampMicros(text: string): number | undefined {
  if (text.length === 27 && text.charCodeAt(26) === 90 /* Z */) {
    // Events of a stream share their second: the date and time up to the fraction are parsed once per second.
    if (text.startsWith(parsedSecond.prefix)) {
      const fraction = digits(text, 20, 6);
      if (fraction >= 0) return parsedSecond.micros + fraction;
    }
    const micros = parseCompact(text);
    if (micros !== undefined) {
      const fraction = digits(text, 20, 6);
      parsedSecond = { prefix: text.slice(0, 20), micros: micros - fraction };
      return micros;
    }
  }
  return parseTimestamp(text)?.micros;
}

/** The last "YYYY-MM-DDTHH:MM:SS." timestampMicros parsed, and its microseconds. */
let parsedSecond = { prefix: '\u0000', micros: 0 };

/** YYYY-MM-DDTHH:MM:SS.ffffffZ -> microseconds, undefined when any part is not a digit or out of its range. */
function parseCompact(t: string): number | undefined {
  if (t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45 || t.charCodeAt(10) !== 84 || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58 || t.charCodeAt(19) !== 46) {
    return undefined;
  }
  const year = digits(t, 0, 4);
  const month = digits(t, 5, 2);
  const day = digits(t, 8, 2);
  const hour = digits(t, 11, 2);
  const minute = digits(t, 14, 2);
  const second = digits(t, 17, 2);
  const fraction = digits(t, 20, 6);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || fraction < 0) return undefined;
  const days = daysFromCivil(year, month, day);
  return ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + fraction;
}

function digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's civil calendar algorithms).
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => pad2(i));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** Microseconds since the epoch as 2025-05-25T14:17:21.178483Z. */
export function formatTimestamp(micros: number): string {
  if (!Number.isSafeInteger(micros)) throw onexError('ONEX_VALID_105', `The timestamp ${micros} is not a whole number of microseconds.`);
  // Events of a stream share their second, or at least their day: the text up to the fraction is kept for the last
  // second, its calendar part for the last day, and the rest comes from digit tables.
  const second = Math.floor(micros / 1_000_000);
  const fraction = micros - second * 1_000_000;
  if (second !== secondCache.second) secondCache = { second, prefix: secondPrefix(second) };
  return `${secondCache.prefix}${THREE_DIGITS[Math.floor(fraction / 1000)]}${THREE_DIGITS[fraction % 1000]}Z`;
}

let secondCache = { second: Number.NaN, prefix: '' };

/** "YYYY-MM-DDTHH:MM:SS." of a second since the epoch. */
function secondPrefix(second: number): string {
  const day = Math.floor(second / 86_400);
  if (day !== dayCache.day) dayCache = { day, prefix: dayPrefix(day) };
  const inDay = second - day * 86_400;
  const minutes = Math.floor(inDay / 60);
  return `${dayCache.prefix}${TWO_DIGITS[Math.floor(minutes / 60)]}:${TWO_DIGITS[minutes % 60]}:${TWO_DIGITS[inDay % 60]}.`;
}

let dayCache = { day: Number.NaN, prefix: '' };

/** "YYYY-MM-DDT" of a day since the epoch. */
function dayPrefix(days: number): string {
  const [year, month, day] = civilFromDays(days);
  if (year < 0 || year > 9999) throw onexError('ONEX_VALID_105', `The timestamp falls in year ${year}, outside 0000-9999.`);
  const y = year < 1000 ? String(year).padStart(4, '0') : String(year);
  return `${y}-${pad2(month)}-${pad2(day)}T`;
}

/** Now, with microsecond precision where the clock has it. */
export function nowTimestamp(): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return formatTimestamp(micros);
}
