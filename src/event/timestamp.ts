/**
 * Event timestamps: ISO-8601 text in the event form (what ONEX JSON events carry), microseconds since the epoch on
 * the wire (Avro timestamp-micros). Both directions keep microsecond precision, which Date alone would lose.
 */

// Date and time, optional fraction (up to nanoseconds, truncated to micros), and a zone: Z or +hh:mm / -hh:mm.
const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export interface ParsedTimestamp {
  /** Microseconds since the Unix epoch. */
  readonly micros: number;
  /** True when the text is written in UTC (Z, +00:00 or -00:00). */
  readonly utc: boolean;
}

export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  // Fast path for the form this pipeline writes (2025-05-25T14:17:21.178483Z): events of a stream share their
  // second, so the calendar work is done once per second.
  if (text.length === 27 && text.charCodeAt(19) === 46 /* . */ && text.charCodeAt(26) === 90 /* Z */) {
    const fraction = sixDigits(text, 20);
    if (fraction >= 0) {
      const second = text.slice(0, 19);
      if (second === parseCache.text) return { micros: parseCache.micros + fraction, utc: true };
      const base = parseSlow(`${second}Z`);
      if (base) {
        parseCache = { text: second, micros: base.micros };
        return { micros: base.micros + fraction, utc: true };
      }
      return undefined;
    }
  }
  return parseSlow(text);
}

let parseCache = { text: '', micros: 0 };

function sixDigits(text: string, at: number): number {
  let n = 0;
  for (let i = at; i < at + 6; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function parseSlow(text: string): ParsedTimestamp | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, dateTime, fraction = '', zone] = m as unknown as [string, string, string | undefined, string];
  const ms = Date.parse(`${dateTime}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse accepts 2025-02-30; a round trip through the calendar rejects what does not exist.
  if (zone === 'Z' && new Date(ms).toISOString().slice(0, 19) !== dateTime) return undefined;
  const micros = ms * 1000 + Number(fraction.padEnd(6, '0').slice(0, 6));
  return { micros, utc: zone === 'Z' || zone === '+00:00' || zone === '-00:00' };
}

/** Microseconds since the epoch as 2025-05-25T14:17:21.178483Z. */
export function formatTimestamp(micros: number): string {
  const second = Math.floor(micros / 1_000_000);
  let prefix = formatCache.second === second ? formatCache.text : undefined;
  if (prefix === undefined) {
    // toISOString throws a RangeError past year 275760; callers map it to an ONEX code.
    prefix = new Date(second * 1000).toISOString().slice(0, 19);
    formatCache = { second, text: prefix };
  }
  const fraction = micros - second * 1_000_000;
  return `${prefix}.${fraction < 100000 ? String(fraction).padStart(6, '0') : fraction}Z`;
}

let formatCache = { second: Number.NaN, text: '' };

/** Now, with microsecond precision where the clock has it. */
export function nowTimestamp(): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return formatTimestamp(micros);
}
