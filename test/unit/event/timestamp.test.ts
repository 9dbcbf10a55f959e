import { describe, expect, it } from 'vitest';
import { formatTimestamp, inspectJson, jsonByteSize, nowTimestamp, parseTimestamp, timestampMicros } from '../../../src/event/index.js';

describe('timestamps', () => {
  it('keep microseconds both ways', () => {
    const t = '2025-05-25T14:17:21.178483Z';
    expect(parseTimestamp(t)).toEqual({ micros: 1748182641178483, utc: true });
    expect(formatTimestamp(1748182641178483)).toBe(t);
  });

  it('format the epoch, before it, and leading zeros of the fraction', () => {
    expect(formatTimestamp(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(formatTimestamp(-1)).toBe('1969-12-31T23:59:59.999999Z');
    expect(formatTimestamp(1_000_000 + 42)).toBe('1970-01-01T00:00:01.000042Z');
  });

  it('parse the forms ISO-8601 allows, converting offsets to UTC', () => {
    expect(parseTimestamp('2025-05-25T14:17:21Z')?.micros).toBe(1748182641000000);
    expect(parseTimestamp('2025-05-25T14:17:21.1Z')?.micros).toBe(1748182641100000);
    expect(parseTimestamp('2025-05-25T14:17:21.123456789Z')?.micros).toBe(1748182641123456);
    expect(parseTimestamp('2025-05-25T16:17:21.5+02:00')).toEqual({ micros: 1748182641500000, utc: false });
    expect(parseTimestamp('2025-05-25T14:17:21.000000+00:00')?.utc).toBe(true);
  });

  it('refuse what is not a date-time, including days that do not exist', () => {
    for (const bad of ['2025-02-30T00:00:00.000000Z', '2025-13-01T00:00:00Z', '2025-05-25 14:17:21Z', '2025-05-25T14:17:21', '', '2025-05-25T14:17:21.12345xZ']) {
      expect(parseTimestamp(bad), bad).toBeUndefined();
      expect(timestampMicros(bad), bad).toBeUndefined();
    }
  });

  it('reuse the cached second correctly across seconds', () => {
    const a = parseTimestamp('2025-05-25T14:17:21.000001Z')!.micros;
    const b = parseTimestamp('2025-05-25T14:17:22.000001Z')!.micros;
    const c = parseTimestamp('2025-05-25T14:17:21.999999Z')!.micros;
    expect([b - a, c - a]).toEqual([1_000_000, 999_998]);
    expect(formatTimestamp(a)).toBe('2025-05-25T14:17:21.000001Z');
    expect(formatTimestamp(b)).toBe('2025-05-25T14:17:22.000001Z');
    expect(formatTimestamp(c)).toBe('2025-05-25T14:17:21.999999Z');
    // timestampMicros keeps the last second it parsed: hits, a bad fraction within it, and the next second
    expect(timestampMicros('2025-05-25T14:17:21.000001Z')).toBe(a);
    expect(timestampMicros('2025-05-25T14:17:21.999999Z')).toBe(c);
    expect(timestampMicros('2025-05-25T14:17:21.12345xZ')).toBeUndefined();
    expect(timestampMicros('2025-05-25T14:17:22.000001Z')).toBe(b);
    expect(timestampMicros('2025-05-25T14:17:21.000001+00:00')).toBe(a);
  });

  it('agree with Date on 5,000 generated instants between 1843 and 2096, both ways', () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 5000; i++) {
      const ms = Math.floor((next() * 2 - 0.5) * 4e12);
      const micros = ms * 1000 + Math.floor(next() * 1000);
      const iso = `${new Date(ms).toISOString().slice(0, 23)}${String(micros - ms * 1000).padStart(3, '0')}Z`;
      expect(formatTimestamp(micros)).toBe(iso);
      expect(parseTimestamp(iso)?.micros).toBe(micros);
      expect(timestampMicros(iso)).toBe(micros);
      expect(timestampMicros(iso.replace('Z', '+01:00'))).toBe(micros - 3_600_000_000);
    }
  });

  it('know leap years and negative offsets', () => {
    expect(parseTimestamp('2024-02-29T23:59:59.999999Z')?.micros).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999) * 1000 + 999);
    expect(parseTimestamp('2023-02-29T00:00:00.000000Z')).toBeUndefined();
    expect(parseTimestamp('2000-02-29T00:00:00.000000Z')).toBeDefined();
    expect(parseTimestamp('1900-02-29T00:00:00.000000Z')).toBeUndefined();
    expect(parseTimestamp('2025-05-25T14:17:21-01:30')?.micros).toBe(Date.UTC(2025, 4, 25, 15, 47, 21) * 1000);
  });

  it('refuse to format what is not a whole number of microseconds, with an ONEX code', () => {
    expect(() => formatTimestamp(1.5)).toThrow(expect.objectContaining({ code: 'ONEX_VALID_105' }));
    expect(() => formatTimestamp(2 ** 60)).toThrow(/not a whole number of microseconds/);
    // the safe-integer range of microseconds spans about 1685 to 2255
    expect(formatTimestamp(Number.MAX_SAFE_INTEGER)).toBe('2255-06-05T23:47:34.740991Z');
    expect(formatTimestamp(-Number.MAX_SAFE_INTEGER)).toBe('1684-07-28T00:12:25.259009Z');
  });

  it('now is a parseable UTC timestamp', () => {
    const now = nowTimestamp();
    expect(parseTimestamp(now)?.utc).toBe(true);
    expect(Math.abs(parseTimestamp(now)!.micros / 1000 - Date.now())).toBeLessThan(5000);
  });
});

describe('JSON shape', () => {
  it('measures depth with scalars at 0 and containers one deeper than their deepest child', () => {
    expect(inspectJson(1, 10).depth).toBe(0);
    expect(inspectJson({}, 10).depth).toBe(1);
    expect(inspectJson({ a: [{ b: 1 }] }, 10).depth).toBe(3);
  });

  it('sizes the UTF-8 JSON text, undefined for a cycle', () => {
    expect(jsonByteSize({ a: 'ü' })).toBe(Buffer.byteLength('{"a":"ü"}'));
    const c: Record<string, unknown> = {};
    c.c = c;
    expect(jsonByteSize(c)).toBeUndefined();
  });
});
