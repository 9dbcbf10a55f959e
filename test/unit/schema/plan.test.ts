import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSIONS, type AnyOnexEvent, type SchemaVersion } from '../../../src/event/index.js';
import { encodeEvent, knownSchema, parseSchema, schemaEngineStats } from '../../../src/schema/index.js';
import { resolutionPlan } from '../../../src/schema/plan.js';
import { generateEvent, rng } from '../../fixtures/events/generate.js';

const minors = SCHEMA_VERSIONS.filter((v) => v.startsWith('1.'));
const plan = (w: SchemaVersion, r: SchemaVersion) => resolutionPlan(knownSchema(w), w, knownSchema(r), r);

describe('resolutionPlan: one plan per (writer, reader) pair for bytes and values', () => {
  it('is built once per pair and handed out again', () => {
    expect(plan('1.0.0', '1.3.0')).toBe(plan('1.0.0', '1.3.0'));
    expect(plan('1.0.0', '1.3.0')).not.toBe(plan('1.1.0', '1.3.0'));
    expect(plan('1.2.0', '1.2.0').resolver).toBeUndefined();
  });

  it('reads the bytes and the values of every 1.x pair alike, compiled both ways (no avsc read counted)', () => {
    const r = rng(19);
    for (const [i, writer] of minors.entries()) {
      for (const reader of minors.slice(i + 1)) {
        const p = plan(writer, reader);
        const before = schemaEngineStats();
        for (let n = 0; n < 20; n++) {
          const event = generateEvent(r, writer, { targetBytes: n % 4 === 0 ? 1024 : undefined }) as unknown as AnyOnexEvent;
          expect(p.readValue(event), `${writer} -> ${reader}`).toEqual(p.readBytes(encodeEvent(event, writer)));
        }
        expect(schemaEngineStats()).toEqual(before);
      }
    }
  });

  it('refuses a reader that cannot read the writer with ONEX_SCHEMA_701 and the reason', () => {
    const base = knownSchema('1.1.0').json as { fields: Array<{ name: string; type: unknown }> };
    const odd = parseSchema({ ...base, fields: base.fields.map((f) => (f.name === 'node_id' ? { ...f, type: 'int' } : f)) } as object);
    expect(() => resolutionPlan(odd, '1.1.0', knownSchema('1.2.0'), '1.2.0')).toThrow(/^Data written with schema 1\.1\.0 cannot be read as 1\.2\.0: OnexEvent\.node_id/);
  });
});
