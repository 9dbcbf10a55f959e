import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSIONS, type SchemaVersion } from '../../../src/event/index.js';
import { decodeAs, encodeEvent, knownSchema, parseSchema, transformEvent } from '../../../src/schema/index.js';
import { compileValueResolver } from '../../../src/schema/value-resolver.js';
import { generateEvent, rng } from '../../fixtures/events/generate.js';
import { failure, plain } from './support.js';

const V1 = SCHEMA_VERSIONS.filter((v) => v.startsWith('1.'));

describe('in-memory Avro resolution', () => {
  for (const from of V1) {
    for (const to of V1) {
      it(`${from} -> ${to}: the same as decoding the bytes with the reader schema (100 generated events)`, () => {
        const resolve = compileValueResolver(knownSchema(to), knownSchema(from))!;
        expect(resolve).toBeTypeOf('function');
        const r = rng(V1.indexOf(from) * 10 + V1.indexOf(to));
        for (let i = 0; i < 100; i++) {
          const event = generateEvent(r, from);
          const viaBytes = plain(decodeAs(from, encodeEvent(event, from), to));
          const inMemory = plain(resolve(event));
          // the decoder stamps schema_version with the reader's version; the chain does that after resolving
          if ('schema_version' in viaBytes) inMemory.schema_version = viaBytes.schema_version;
          expect(inMemory).toEqual(viaBytes);
        }
      });
    }
  }

  it('checks values against the writer schema as encoding would, fields the reader drops included', () => {
    const resolve = compileValueResolver(knownSchema('1.1.0'), knownSchema('1.2.0'))!;
    const event = generateEvent(rng(3), '1.2.0');
    expect(failure(() => resolve({ ...event, node_id: 7 }))).toBe('ONEX_EVENT_603: OnexEvent.node_id must be string, got 7.');
    expect(failure(() => resolve({ ...event, sample_rate: 'half' }))).toBe('ONEX_EVENT_603: OnexEvent.sample_rate must be double, got "half".');
    expect(failure(() => resolve({ ...event, event_type: 'NOPE' }))).toMatch(/^ONEX_EVENT_603: OnexEvent\.event_type must be one of onex\.event\.OnexEventType/);
    expect(failure(() => resolve({ ...event, timestamp: 'noon' }))).toMatch(/must be an ISO-8601 timestamp/);
    // a field with a default may be left out, as when encoding
    const { sample_rate: _omit, ...withoutRate } = event;
    expect(() => resolve(withoutRate)).not.toThrow();
  });

  it('covers promotions, arrays, maps, aliases, enum defaults and recursion', () => {
    const writer = parseSchema({
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'n', type: 'int' },
        { name: 'text', type: 'string' },
        { name: 'tags', type: { type: 'array', items: 'int' } },
        { name: 'attrs', type: { type: 'map', values: 'float' } },
        { name: 'kind', type: { type: 'enum', name: 'K', symbols: ['A', 'B', 'C'] } },
        { name: 'old', type: 'string' },
        { name: 'next', type: ['null', 'Node'], default: null },
      ],
    });
    const reader = parseSchema({
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'n', type: 'double' },
        { name: 'text', type: 'bytes' },
        { name: 'tags', type: { type: 'array', items: 'long' } },
        { name: 'attrs', type: { type: 'map', values: 'double' } },
        { name: 'kind', type: { type: 'enum', name: 'K', symbols: ['U', 'A', 'B'], default: 'U' } },
        { name: 'renamed', type: 'string', aliases: ['old'] },
        { name: 'next', type: ['null', 'Node'], default: null },
        { name: 'added', type: { type: 'array', items: 'string' }, default: ['x'] },
      ],
    });
    const resolve = compileValueResolver(reader, writer)!;
    const value = { n: 1, text: 'hé', tags: [1, 2], attrs: { a: 0.5 }, kind: 'C', old: 'o', next: { n: 2, text: '', tags: [], attrs: {}, kind: 'A', old: 'p', next: null } };
    const viaAvsc = reader.type.fromBuffer(avro.Type.forSchema(writer.json as avro.Schema).toBuffer(value), reader.type.createResolver(writer.type));
    expect(resolve(value)).toMatchObject({ n: 1, text: Buffer.from('hé'), kind: 'U', renamed: 'o', added: ['x'], next: { kind: 'A', renamed: 'p', next: null } });
    expect(plain(resolve(value))).toEqual(plain(viaAvsc));
  });

  it('declines what it cannot do in memory, and pairs that do not resolve at all', () => {
    expect(compileValueResolver(knownSchema('2.0.0'), knownSchema('2.0.0'))).toBeUndefined(); // union of records
    expect(compileValueResolver(knownSchema('2.0.0'), knownSchema('1.3.0'))).toBeUndefined(); // incompatible
    const tsWriter = parseSchema({ type: 'record', name: 'R', fields: [{ name: 't', type: 'long' }] });
    const tsReader = parseSchema({ type: 'record', name: 'R', fields: [{ name: 't', type: { type: 'long', logicalType: 'timestamp-micros' } }] });
    expect(compileValueResolver(tsReader, tsWriter)).toBeUndefined(); // the value forms differ
  });

  it('is what transformEvent uses within a major (plain objects, no encode and decode)', () => {
    const event = generateEvent(rng(9), '1.0.0');
    for (const to of ['1.1.0', '1.2.0', '1.3.0'] as SchemaVersion[]) {
      const out = transformEvent(event, to);
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(plain(out)).toEqual(plain(decodeAs('1.0.0', encodeEvent(event, '1.0.0'), to)));
    }
  });
});
