import { describe, expect, it } from 'vitest';
import { flowPosition, Sampler } from '../../../src/producer/index.js';

const base = { enabled: true, defaultRate: 1, rates: {}, alwaysKeep: ['NODE_FAILURE', 'TELEMETRY_OPERATION_ERROR'] as const };
const facts = (eventType: string, flowKey: string | undefined, extra: Partial<{ hasError: boolean; priorRate: number; eventId: string }> = {}) => ({
  eventType,
  flowKey,
  eventId: extra.eventId ?? 'e',
  hasError: extra.hasError ?? false,
  priorRate: extra.priorRate,
});

describe('flowPosition', () => {
  it('is a fixed function of the key: the same in every instance and process', () => {
    // Pinned values, computed by an independent Python implementation (FNV-1a over UTF-8, murmur3 fmix32): a change
    // here would make producers of different versions or languages sample different flows.
    expect(flowPosition('')).toBe(0.6689221884589642);
    expect(flowPosition('corr-1')).toBe(0.15300942724570632);
    expect(flowPosition('ü-ß-€-😀')).toBe(0.17018693429417908);
    expect(flowPosition('a')).not.toBe(flowPosition('b'));
  });

  it('spreads sequential keys evenly over [0, 1)', () => {
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) buckets[Math.floor(flowPosition(`flow-${i}`) * 10)]++;
    for (const b of buckets) expect(b).toBeGreaterThan(1_700), expect(b).toBeLessThan(2_300);
  });
});

describe('Sampler', () => {
  it('keeps everything with rate 1 and when switched off', () => {
    const off = new Sampler({ ...base, enabled: false, defaultRate: 0.01 });
    expect(off.decide(facts('NODE_START', 'f'))).toEqual({ keep: true, rate: 1, forced: false });
    expect(new Sampler(base).decide(facts('NODE_START', 'f'))).toEqual({ keep: true, rate: 1, forced: false });
    expect(off.toString()).toBe('Sampler{off}');
  });

  it('says when it keeps everything, and then decides as unsampled() does, whatever the facts', () => {
    const keepers = [new Sampler(base), new Sampler({ ...base, enabled: false, defaultRate: 0.01 }), new Sampler({ ...base, rates: { NODE_START: 1 } })];
    const samplers = [new Sampler({ ...base, defaultRate: 0.5 }), new Sampler({ ...base, rates: { NODE_START: 0.2 } }), new Sampler({ ...base, rates: { NODE_START: 0 } })];
    expect(keepers.map((s) => s.keepsAll)).toEqual([true, true, true]);
    expect(samplers.map((s) => s.keepsAll)).toEqual([false, false, false]);
    for (const s of keepers) {
      for (const f of [facts('NODE_START', 'f'), facts('NODE_FAILURE', undefined, { hasError: true, priorRate: 0.25 }), facts('NODE_COMPLETE', 'g', { priorRate: 0.5 })]) {
        const { keep, rate } = s.decide(f);
        expect({ keep, rate }).toEqual({ keep: s.unsampled(f.priorRate).keep, rate: s.unsampled(f.priorRate).rate });
      }
    }
  });

  it('decides once per flow: every event of a flow gets the same answer', () => {
    const s = new Sampler({ ...base, defaultRate: 0.3 });
    for (let i = 0; i < 2_000; i++) {
      const key = `corr-${i}`;
      const answers = new Set(['NODE_START', 'STRUCTURED_LOG', 'NODE_SUCCESS'].map((t) => s.decide(facts(t, key)).keep));
      expect(answers.size).toBe(1);
    }
  });

  it('keeps about rate of the flows and records the rate for re-weighting', () => {
    const s = new Sampler({ ...base, defaultRate: 0.1, rates: { STRUCTURED_LOG: 0.5 } });
    let kept = 0;
    let logs = 0;
    for (let i = 0; i < 20_000; i++) {
      const d = s.decide(facts('NODE_START', `flow-${i}`));
      if (d.keep) kept++;
      expect(d.rate).toBe(0.1);
      if (s.decide(facts('STRUCTURED_LOG', `flow-${i}`)).keep) logs++;
    }
    expect(kept / 20_000).toBeGreaterThan(0.09);
    expect(kept / 20_000).toBeLessThan(0.11);
    expect(logs / 20_000).toBeGreaterThan(0.48);
    expect(logs / 20_000).toBeLessThan(0.52);
  });

  it('nests per-type rates: a flow kept at a low rate keeps its higher-rate types too', () => {
    const s = new Sampler({ ...base, defaultRate: 0.2, rates: { STRUCTURED_LOG: 0.05 } });
    for (let i = 0; i < 5_000; i++) {
      if (s.decide(facts('STRUCTURED_LOG', `f${i}`)).keep) expect(s.decide(facts('NODE_START', `f${i}`)).keep).toBe(true);
    }
  });

  it('always keeps failure types and events with an error code, at their prior rate', () => {
    const s = new Sampler({ ...base, defaultRate: 0 });
    expect(s.decide(facts('NODE_START', 'x')).keep).toBe(false);
    expect(s.decide(facts('NODE_FAILURE', 'x'))).toEqual({ keep: true, rate: 1, forced: true });
    expect(s.decide(facts('STRUCTURED_LOG', 'x', { hasError: true }))).toEqual({ keep: true, rate: 1, forced: true });
    expect(s.decide(facts('STRUCTURED_LOG', 'x', { hasError: true, priorRate: 0.5 }))).toEqual({ keep: true, rate: 0.5, forced: true });
  });

  it('an event without a flow is its own flow (its event id decides)', () => {
    const s = new Sampler({ ...base, defaultRate: 0.5 });
    const kept = Array.from({ length: 4_000 }, (_, i) => s.decide(facts('NODE_START', undefined, { eventId: `id-${i}` })).keep).filter(Boolean).length;
    expect(kept).toBeGreaterThan(1_800);
    expect(kept).toBeLessThan(2_200);
  });

  it('sampling an already sampled event records the smaller rate', () => {
    const s = new Sampler({ ...base, defaultRate: 0.5 });
    for (let i = 0; i < 200; i++) {
      const d = s.decide(facts('NODE_START', `k${i}`, { priorRate: 0.2 }));
      expect(d.rate).toBe(0.2);
    }
  });
});
