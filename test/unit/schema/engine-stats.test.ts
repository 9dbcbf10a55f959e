import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerSchemaEngineMetrics } from '../../../src/codec/index.js';
import { decodeAs, encodeEvent, schemaEngineStats, type SchemaEngineStats } from '../../../src/schema/index.js';
import { generateEvent, rng } from '../../fixtures/events/generate.js';
import { errorCode } from './support.js';

/** What changed between two snapshots, as "path.reason": n for the counters that moved. */
function moved(before: SchemaEngineStats, after: SchemaEngineStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [path, reasons] of Object.entries(after)) {
    for (const [reason, n] of Object.entries(reasons)) {
      const d = n - before[path as keyof SchemaEngineStats][reason as 'gave_up'];
      if (d !== 0) out[`${path}.${reason}`] = d;
    }
  }
  return out;
}

function countedDuring(fn: () => void): Record<string, number> {
  const before = schemaEngineStats();
  fn();
  return moved(before, schemaEngineStats());
}

describe('schema engine fallbacks to avsc are counted', () => {
  const r = rng(77);

  it('the compiled paths count nothing: same-schema round trips and an earlier minor read as a later one', () => {
    const v10 = generateEvent(r, '1.0.0');
    const v13 = generateEvent(r, '1.3.0');
    expect(
      countedDuring(() => {
        decodeAs('1.3.0', encodeEvent(v13, '1.3.0'), '1.3.0');
        decodeAs('1.0.0', encodeEvent(v10, '1.0.0'), '1.3.0');
      }),
    ).toEqual({});
  });

  it('a later minor read as an earlier one goes through avsc resolution (no compiled plan for it)', () => {
    const bytes = encodeEvent(generateEvent(r, '1.3.0'), '1.3.0');
    expect(countedDuring(() => decodeAs('1.3.0', bytes, '1.0.0'))).toEqual({ 'resolve.not_compiled': 1 });
  });

  it('an event the compiled writer refuses is left to avsc, which says why', () => {
    const bad = { ...generateEvent(r, '1.0.0'), node_id: 42 };
    let code = '';
    expect(countedDuring(() => (code = errorCode(() => encodeEvent(bad, '1.0.0'))))).toEqual({ 'encode.gave_up': 1 });
    expect(code).toBe('ONEX_EVENT_603');
  });

  it('bytes the compiled reader gives up on are read by avsc', () => {
    // Cut short: the compiled reader gives up, avsc reads as far as it can and reports the error.
    const bytes = encodeEvent(generateEvent(r, '1.0.0'), '1.0.0');
    let code = '';
    expect(countedDuring(() => (code = errorCode(() => decodeAs('1.0.0', bytes.subarray(0, bytes.length - 3), '1.0.0'))))).toEqual({ 'decode.gave_up': 1 });
    expect(code).toBe('ONEX_EVENT_603');
  });

  it('onex_schema_avsc_fallbacks_total shows the counts at scrape time', async () => {
    const registry = new client.Registry();
    registerSchemaEngineMetrics(registry);
    registerSchemaEngineMetrics(registry); // once per registry
    decodeAs('1.3.0', encodeEvent(generateEvent(r, '1.3.0'), '1.3.0'), '1.0.0');
    const text = await registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith('onex_schema_avsc_fallbacks_total{path="resolve",reason="not_compiled"}'));
    expect(Number(line?.split(' ')[1])).toBe(schemaEngineStats().resolve.not_compiled);
    expect(schemaEngineStats().resolve.not_compiled).toBeGreaterThan(0);
  });
});
