import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { countingHistogram } from '../../../src/telemetry/histogram.js';

const SPEC = { name: 'onex_test_size_bytes', help: 'Sizes', labelName: 'compression', buckets: [128, 1024, 10240] };

describe('CountingHistogram', () => {
  it('exports exactly what a prom-client histogram with the same buckets exports for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const h = countingHistogram(ours, SPEC);
    const reference = new Histogram({ name: SPEC.name, help: SPEC.help, labelNames: [SPEC.labelName], buckets: SPEC.buckets, registers: [theirs] });
    // On a bound, between bounds, over the last bound, two label values.
    const seen: Array<[string, number]> = [['none', 128], ['none', 129], ['lz4', 20_000], ['none', 5], ['lz4', 10_240], ['none', 1_000_000]];
    for (const [label, v] of seen) {
      h.labels(label).observe(v);
      reference.observe({ [SPEC.labelName]: label }, v);
    }
    const lines = async (r: Registry) => (await r.metrics()).split('\n').filter((l) => l.startsWith(SPEC.name)).sort();
    expect(await lines(ours)).toEqual(await lines(theirs));
  });

  it('is shared by everyone asking the same registry, and reset with it', async () => {
    const registry = new Registry();
    countingHistogram(registry, SPEC).labels('none').observe(1);
    countingHistogram(registry, SPEC).labels('none').observe(2);
    expect(await registry.metrics()).toContain(`${SPEC.name}_count{compression="none"} 2`);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain(`${SPEC.name}_count`);
  });
});
