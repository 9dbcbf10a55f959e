import { describe, expect, it } from 'vitest';
import { formatTimestamp, inspectJson, jsonByteSize, nowTimestamp, parseTimestamp } from '../../../src/event/index.js';

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
