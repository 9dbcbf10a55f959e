import { describe, expect, it } from 'vitest';
import { isOnexError, type OnexError } from '../../../src/errors/index.js';
import { parseSchema } from '../../../src/schema/index.js';
import { parseAvro } from '../../../src/registry/avro.js';

/** The ONEX code parseAvro refuses `text` with. */
function refusal(text: string, references: Parameters<typeof parseAvro>[1] = []): string {
  try {
    parseAvro(text, references);
  } catch (err) {
    if (isOnexError(err)) return err.code;
    throw err;
  }
  return 'accepted';
}

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
    ['not JSON', '{"type": "record"', 'ONEX_VALID_101'],
    ['a bare name (the registry wants JSON)', 'string', 'ONEX_VALID_101'],
    ['unknown type', '{"type": "strin"}', 'ONEX_SCHEMA_700'],
    ['record without fields', '{"type": "record", "name": "R"}', 'ONEX_SCHEMA_700'],
    ['default of the wrong type', '{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}', 'ONEX_SCHEMA_700'],
    ['duplicate field', '{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}', 'ONEX_SCHEMA_700'],
    ['empty', '   ', 'ONEX_VALID_101'],
  ])('rejects invalid Avro with the schema engine\'s error: %s', (_why, text, code) => {
    expect(refusal(text)).toBe(code);
  });

  it('refuses what the schema engine refuses, with the same code and words (one parser)', () => {
    for (const text of ['{"type": "strin"}', '{"type":"enum","name":"E","symbols":["A","A"]}', '{"type": "record"']) {
      let engine = '';
      try {
        parseSchema(text);
      } catch (err) {
        engine = `${(err as OnexError).code} ${(err as OnexError).message}`;
      }
      let registry = '';
      try {
        parseAvro(text);
      } catch (err) {
        registry = `${(err as OnexError).code} ${(err as OnexError).message}`;
      }
      expect(registry).not.toBe('');
      expect(registry).toBe(engine);
    }
  });

  it('resolves named types from references', () => {
    const ref = { name: 'com.acme.Address', schema: JSON.stringify({ type: 'record', name: 'Address', namespace: 'com.acme', fields: [{ name: 'street', type: 'string' }] }) };
    const main = JSON.stringify({ type: 'record', name: 'Person', namespace: 'com.acme', fields: [{ name: 'home', type: 'Address' }] });
    expect(refusal(main)).toBe('ONEX_SCHEMA_700');
    expect(refusal(main, [{ name: 'com.acme.Address', schema: '{"type": "record", "name": "Address"}' }])).toBe('ONEX_SCHEMA_700');
    expect(JSON.parse(parseAvro(main, [ref]).canonical).fields[0].type).toBe('com.acme.Address');
  });
});
