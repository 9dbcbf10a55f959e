import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { alertsLine, createDevView, ratesBetween, renderFrame, renderLine, type DevSnapshot } from '../../../src/cli/dev/view.js';

const snap = (over: Partial<DevSnapshot>): DevSnapshot => ({
  elapsedMs: 0,
  produced: 0,
  sampledOut: 0,
  rejected: 0,
  consumed: 0,
  deadLettered: 0,
  byVersion: {},
  lag: 0,
  brokers: '127.0.0.1:9092',
  registryUrl: 'http://127.0.0.1:8081',
  metricsUrl: 'http://127.0.0.1:9464/metrics',
  alerts: null,
  ...over,
});

describe('onex dev view', () => {
  it('computes rates between snapshots', () => {
    const a = snap({ elapsedMs: 1_000, produced: 1_000, consumed: 500 });
    const b = snap({ elapsedMs: 3_000, produced: 5_000, consumed: 4_500 });
    expect(ratesBetween(a, b)).toEqual({ producedPerSec: 2_000, consumedPerSec: 2_000 });
    expect(ratesBetween(undefined, a)).toEqual({ producedPerSec: 1_000, consumedPerSec: 500 });
  });

  it('shows totals, rates, versions with shares, dead letters, lag and where things listen', () => {
    const s = snap({ elapsedMs: 10_000, produced: 12_345, sampledOut: 45, consumed: 12_000, deadLettered: 3, lag: 300, byVersion: { '1.0.0': 250, '2.0.0': 750 } });
    const frame = renderFrame(s, { producedPerSec: 1234.4, consumedPerSec: 1200 }, false);
    expect(frame).toContain('12,345');
    expect(frame).toContain('1,234 ev/s');
    expect(frame).toContain('sampled out 45');
    expect(frame).toContain('dead letters 3');
    expect(frame).toContain('lag 300');
    expect(frame).toContain('1.0.0 250 (25%)  2.0.0 750 (75%)');
    expect(frame).toContain('registry http://127.0.0.1:8081');
    expect(frame).toContain('metrics http://127.0.0.1:9464/metrics');
    expect(renderLine(s, { producedPerSec: 1234.4, consumedPerSec: 1200 })).toBe(
      '[10s] produced=12345 (1234/s) sampled_out=45 rejected=0 consumed=12000 (1200/s) dead_letters=3 lag=300 versions=1.0.0:250,2.0.0:750 alerts_firing=off',
    );
  });

  it('writes plain lines at most every interval when the output is not a terminal', () => {
    const lines: string[] = [];
    const out = new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }) as unknown as NodeJS.WriteStream;
    const view = createDevView(out, 5_000);
    for (let t = 0; t <= 12_000; t += 1_000) view.update(snap({ elapsedMs: t, produced: t }));
    view.done();
    expect(lines.map((l) => l.slice(0, l.indexOf(']') + 1))).toEqual(['[0s]', '[5s]', '[10s]']);
    expect(lines.every((l) => !l.includes('\u001b['))).toBe(true);
  });

  it('shows the firing alerts (rule and key), a count past the first few, and off when no rules run', () => {
    const firing = (rule: string, key: Record<string, string> = {}) => ({ rule, key, since: '2026-01-01T00:00:00.000Z' });
    const alerts = { rules: 3, topic: 't.alerts', transitions: {}, firing: [firing('operation-error-rate'), firing('deprecated-schema', { node_id: 'n1' })] };
    expect(alertsLine(alerts)).toBe('firing 2: operation-error-rate, deprecated-schema{node_id=n1}');
    expect(alertsLine({ ...alerts, firing: Array.from({ length: 6 }, (_, i) => firing(`r${i}`)) }, 4)).toBe('firing 6: r0, r1, r2, r3 +2 more');
    expect(alertsLine({ ...alerts, firing: [] })).toBe('none firing (3 rules)');
    expect(alertsLine(null)).toBe('off');
    expect(renderFrame(snap({ alerts }), { producedPerSec: 0, consumedPerSec: 0 }, false)).toContain('  alerts     firing 2: operation-error-rate');
    expect(renderLine(snap({ alerts }), { producedPerSec: 0, consumedPerSec: 0 })).toMatch(/ alerts_firing=2$/);
    expect(renderLine(snap({}), { producedPerSec: 0, consumedPerSec: 0 })).toMatch(/ alerts_firing=off$/);
  });
});
