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
  const ms = Math.floor(micros / 1000);
  const rest = micros - ms * 1000;
  const iso = new Date(ms).toISOString(); // throws RangeError past year 275760; callers map it to an ONEX code
  return `${iso.slice(0, -1)}${rest < 10 ? '00' : rest < 100 ? '0' : ''}${rest}Z`;
}

/** Now, with microsecond precision where the clock has it. */
export function nowTimestamp(): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return formatTimestamp(micros);
}
