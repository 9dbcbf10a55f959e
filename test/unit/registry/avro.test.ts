import { describe, expect, it } from 'vitest';
import { AvroSchemaError, parseAvro } from '../../../src/registry/avro.js';

describe('Avro canonical form', () => {
  it('ignores whitespace, key order, long-form primitives and how the namespace is written', () => {
    const a = parseAvro(
      JSON.stringify({ type: 'record', name: 'User', namespace: 'com.acme', fields: [{ name: 'id', type: 'long' }] }),
    ).canonical;
    const b = parseAvro(
      `{ "fields": [ { "type": {"type": "long"}, "name": "id", "order": "ascending" } ],\n  "name": "com.acme.User", "type": "record" }`,
    ).canonical;
    expect(b).toBe(a);
    expect(JSON.parse(a)).toEqual({ type: 'record', name: 'com.acme.User', fields: [{ name: 'id', type: 'long' }] });
  });

  it('resolves short references to named types in the enclosing namespace', () => {
    const short = parseAvro(
      JSON.stringify({
        type: 'record',
        name: 'A',
        namespace: 'n',
        fields: [
          { name: 'e', type: { type: 'enum', name: 'E', symbols: ['X'] } },
          { name: 'f', type: 'E' },
        ],
      }),
    ).canonical;
    const full = parseAvro(
      JSON.stringify({
        type: 'record',
        name: 'n.A',
        fields: [
          { name: 'e', type: { type: 'enum', name: 'n.E', symbols: ['X'] } },
          { name: 'f', type: 'n.E' },
        ],
      }),
    ).canonical;
    expect(short).toBe(full);
  });

  it('keeps what changes meaning or evolution: defaults, docs, logical types and custom properties', () => {
    const base = { type: 'record', name: 'R', fields: [{ name: 'x', type: 'int' }] };
    const withDefault = { ...base, fields: [{ name: 'x', type: 'int', default: 1 }] };
    const withDoc = { ...base, doc: 'a record' };
    expect(parseAvro(JSON.stringify(withDefault)).canonical).not.toBe(parseAvro(JSON.stringify(base)).canonical);
    expect(parseAvro(JSON.stringify(withDoc)).canonical).not.toBe(parseAvro(JSON.stringify(base)).canonical);
    const ts = parseAvro(JSON.stringify({ type: 'long', logicalType: 'timestamp-millis' })).canonical;
    expect(JSON.parse(ts)).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
    const custom = parseAvro(JSON.stringify({ type: 'string', 'connect.name': 'x', avro: { b: 1, a: 2 } })).canonical;
    expect(custom).toBe('{"type":"string","avro":{"a":2,"b":1},"connect.name":"x"}');
  });

  it('accepts primitive schemas written as JSON strings', () => {
    expect(parseAvro('"string"').canonical).toBe('"string"');
  });

  it.each([
    ['not JSON', '{"type": "record"'],
    ['unknown type', '{"type": "strin"}'],
    ['record without fields', '{"type": "record", "name": "R"}'],
    ['default of the wrong type', '{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}'],
    ['duplicate field', '{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}'],
    ['empty', '   '],
  ])('rejects invalid Avro: %s', (_why, text) => {
    expect(() => parseAvro(text)).toThrow(AvroSchemaError);
  });

  it('resolves named types from references', () => {
    const ref = { name: 'com.acme.Address', schema: JSON.stringify({ type: 'record', name: 'Address', namespace: 'com.acme', fields: [{ name: 'street', type: 'string' }] }) };
    const main = JSON.stringify({ type: 'record', name: 'Person', namespace: 'com.acme', fields: [{ name: 'home', type: 'Address' }] });
    expect(() => parseAvro(main)).toThrow(AvroSchemaError);
    expect(JSON.parse(parseAvro(main, [ref]).canonical).fields[0].type).toBe('com.acme.Address');
  });
});
