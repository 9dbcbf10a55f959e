import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { checkCompatibility, checkReaderWriter, COMPATIBILITY_MODES, type CompatibilityMode } from '../../../src/schema/index.js';
import { errorCode } from './support.js';

/**
 * A table of reader/writer pairs, one or more per Avro resolution rule, each checked in both directions: `rw` is
 * the expected outcome of reading data of `writer` with `reader`, `wr` of the swapped pair. Every expectation is
 * also held against avsc's own resolver, so the checker and the decoder agree on what can be read.
 */
type Outcome = true | { rule: string; path: string };
interface Case {
  name: string;
  writer: unknown;
  reader: unknown;
  rw: Outcome;
  wr: Outcome;
}

const rec = (name: string, fields: unknown[], extra: Record<string, unknown> = {}) => ({ type: 'record', name, fields, ...extra });
const f = (name: string, type: unknown, extra: Record<string, unknown> = {}) => ({ name, type, ...extra });

const CASES: Case[] = [
  // primitives and promotions
  { name: 'same primitive', writer: 'string', reader: 'string', rw: true, wr: true },
  { name: 'int promotes to long', writer: 'int', reader: 'long', rw: true, wr: { rule: 'TYPE_MISMATCH', path: 'int' } },
  { name: 'int promotes to float', writer: 'int', reader: 'float', rw: true, wr: { rule: 'TYPE_MISMATCH', path: 'int' } },
  { name: 'int promotes to double', writer: 'int', reader: 'double', rw: true, wr: { rule: 'TYPE_MISMATCH', path: 'int' } },
  { name: 'long promotes to float', writer: 'long', reader: 'float', rw: true, wr: { rule: 'TYPE_MISMATCH', path: 'long' } },
  { name: 'long promotes to double', writer: 'long', reader: 'double', rw: true, wr: { rule: 'TYPE_MISMATCH', path: 'long' } },
  { name: 'float promotes to double', writer: 'float', reader: 'double', rw: true, wr: { rule: 'TYPE_MISMATCH', path: 'float' } },
  { name: 'string and bytes read each other', writer: 'string', reader: 'bytes', rw: true, wr: true },
  { name: 'string vs int', writer: 'string', reader: 'int', rw: { rule: 'TYPE_MISMATCH', path: 'int' }, wr: { rule: 'TYPE_MISMATCH', path: 'string' } },
  { name: 'null vs boolean', writer: 'null', reader: 'boolean', rw: { rule: 'TYPE_MISMATCH', path: 'boolean' }, wr: { rule: 'TYPE_MISMATCH', path: 'null' } },
  // records: fields, defaults, aliases
  {
    name: 'added field with a default',
    writer: rec('R', [f('a', 'int')]),
    reader: rec('R', [f('a', 'int'), f('b', 'string', { default: 'x' })]),
    rw: true,
    wr: true,
  },
  {
    name: 'added field without a default',
    writer: rec('R', [f('a', 'int')]),
    reader: rec('R', [f('a', 'int'), f('b', 'string')]),
    rw: { rule: 'READER_FIELD_MISSING_DEFAULT_VALUE', path: 'R.b' },
    wr: true,
  },
  {
    name: 'field type changed',
    writer: rec('R', [f('a', 'int')]),
    reader: rec('R', [f('a', 'string')]),
    rw: { rule: 'TYPE_MISMATCH', path: 'R.a' },
    wr: { rule: 'TYPE_MISMATCH', path: 'R.a' },
  },
  {
    name: 'field widened int -> long',
    writer: rec('R', [f('a', 'int')]),
    reader: rec('R', [f('a', 'long')]),
    rw: true,
    wr: { rule: 'TYPE_MISMATCH', path: 'R.a' },
  },
  {
    name: 'field renamed with a reader alias',
    writer: rec('R', [f('old_name', 'int')]),
    reader: rec('R', [f('new_name', 'int', { aliases: ['old_name'] })]),
    rw: true,
    wr: { rule: 'READER_FIELD_MISSING_DEFAULT_VALUE', path: 'R.old_name' },
  },
  {
    name: 'field renamed without an alias',
    writer: rec('R', [f('old_name', 'int')]),
    reader: rec('R', [f('new_name', 'int')]),
    rw: { rule: 'READER_FIELD_MISSING_DEFAULT_VALUE', path: 'R.new_name' },
    wr: { rule: 'READER_FIELD_MISSING_DEFAULT_VALUE', path: 'R.old_name' },
  },
  {
    name: 'record renamed',
    writer: rec('Old', [f('a', 'int')]),
    reader: rec('New', [f('a', 'int')]),
    rw: { rule: 'NAME_MISMATCH', path: 'New' },
    wr: { rule: 'NAME_MISMATCH', path: 'Old' },
  },
  {
    name: 'record renamed with a reader alias naming the writer',
    writer: rec('Old', [f('a', 'int')], { namespace: 'x' }),
    reader: rec('New', [f('a', 'int')], { namespace: 'x', aliases: ['Old'] }),
    rw: true,
    wr: { rule: 'NAME_MISMATCH', path: 'Old' },
  },
  {
    name: 'namespace changed (names match unqualified, as the specification says)',
    writer: rec('R', [f('a', 'int')], { namespace: 'one' }),
    reader: rec('R', [f('a', 'int')], { namespace: 'two' }),
    rw: true,
    wr: true,
  },
  {
    name: 'nested record field changed',
    writer: rec('Outer', [f('inner', rec('Inner', [f('x', 'int')]))]),
    reader: rec('Outer', [f('inner', rec('Inner', [f('x', 'boolean')]))]),
    rw: { rule: 'TYPE_MISMATCH', path: 'Outer.inner.x' },
    wr: { rule: 'TYPE_MISMATCH', path: 'Outer.inner.x' },
  },
  {
    name: 'field made optional (string -> union with null)',
    writer: rec('R', [f('a', 'string')]),
    reader: rec('R', [f('a', ['null', 'string'], { default: null })]),
    rw: true,
    wr: { rule: 'TYPE_MISMATCH', path: 'R.a' },
  },
  {
    name: 'field removed that had no default',
    writer: rec('R', [f('a', 'int'), f('b', 'int')]),
    reader: rec('R', [f('a', 'int')]),
    rw: true,
    wr: { rule: 'READER_FIELD_MISSING_DEFAULT_VALUE', path: 'R.b' },
  },
  // enums
  {
    name: 'enum gains a symbol, no default',
    writer: { type: 'enum', name: 'E', symbols: ['A', 'B'] },
    reader: { type: 'enum', name: 'E', symbols: ['A', 'B', 'C'] },
    rw: true,
    wr: { rule: 'MISSING_ENUM_SYMBOLS', path: 'E' },
  },
  {
    name: 'enum gains a symbol, readers have a default',
    writer: { type: 'enum', name: 'E', symbols: ['U', 'A', 'B'], default: 'U' },
    reader: { type: 'enum', name: 'E', symbols: ['U', 'A', 'B', 'C'], default: 'U' },
    rw: true,
    wr: true,
  },
  {
    name: 'enum renamed',
    writer: { type: 'enum', name: 'E1', symbols: ['A'] },
    reader: { type: 'enum', name: 'E2', symbols: ['A'] },
    rw: { rule: 'NAME_MISMATCH', path: 'E2' },
    wr: { rule: 'NAME_MISMATCH', path: 'E1' },
  },
  {
    name: 'enum field inside a record loses a symbol',
    writer: rec('R', [f('kind', { type: 'enum', name: 'K', symbols: ['X', 'Y'] })]),
    reader: rec('R', [f('kind', { type: 'enum', name: 'K', symbols: ['X'] })]),
    rw: { rule: 'MISSING_ENUM_SYMBOLS', path: 'R.kind' },
    wr: true,
  },
  // fixed
  { name: 'same fixed', writer: { type: 'fixed', name: 'F', size: 16 }, reader: { type: 'fixed', name: 'F', size: 16 }, rw: true, wr: true },
  {
    name: 'fixed size changed',
    writer: { type: 'fixed', name: 'F', size: 16 },
    reader: { type: 'fixed', name: 'F', size: 8 },
    rw: { rule: 'FIXED_SIZE_MISMATCH', path: 'F' },
    wr: { rule: 'FIXED_SIZE_MISMATCH', path: 'F' },
  },
  {
    name: 'fixed renamed',
    writer: { type: 'fixed', name: 'F', size: 4 },
    reader: { type: 'fixed', name: 'G', size: 4 },
    rw: { rule: 'NAME_MISMATCH', path: 'G' },
    wr: { rule: 'NAME_MISMATCH', path: 'F' },
  },
  {
    name: 'fixed vs bytes',
    writer: { type: 'fixed', name: 'F', size: 4 },
    reader: 'bytes',
    rw: { rule: 'TYPE_MISMATCH', path: 'bytes' },
    wr: { rule: 'TYPE_MISMATCH', path: 'F' },
  },
  // unions
  {
    name: 'union gains a branch',
    writer: ['null', 'string'],
    reader: ['null', 'string', 'int'],
    rw: true,
    wr: { rule: 'MISSING_UNION_BRANCH', path: 'union[null, string]' },
  },
  {
    name: 'plain type read by a union through a promotion',
    writer: 'int',
    reader: ['null', 'long'],
    rw: true,
    wr: { rule: 'TYPE_MISMATCH', path: 'int' },
  },
  {
    name: 'plain type not in the reader union',
    writer: 'boolean',
    reader: ['null', 'string'],
    rw: { rule: 'MISSING_UNION_BRANCH', path: 'union[null, string]' },
    wr: { rule: 'TYPE_MISMATCH', path: 'boolean' },
  },
  {
    name: 'record inside a union gains a required field',
    writer: rec('R', [f('u', ['null', rec('Item', [f('a', 'int')])], { default: null })]),
    reader: rec('R', [f('u', ['null', rec('Item', [f('a', 'int'), f('b', 'int')])], { default: null })]),
    rw: { rule: 'MISSING_UNION_BRANCH', path: 'R.u' },
    wr: true,
  },
  // arrays and maps
  { name: 'array items widened', writer: { type: 'array', items: 'int' }, reader: { type: 'array', items: 'long' }, rw: true, wr: { rule: 'TYPE_MISMATCH', path: 'array<int>[]' } },
  {
    name: 'array items changed inside a record',
    writer: rec('R', [f('tags', { type: 'array', items: 'string' })]),
    reader: rec('R', [f('tags', { type: 'array', items: 'int' })]),
    rw: { rule: 'TYPE_MISMATCH', path: 'R.tags[]' },
    wr: { rule: 'TYPE_MISMATCH', path: 'R.tags[]' },
  },
  { name: 'map values widened', writer: { type: 'map', values: 'float' }, reader: { type: 'map', values: 'double' }, rw: true, wr: { rule: 'TYPE_MISMATCH', path: 'map<float>{}' } },
  {
    name: 'map values changed inside a record',
    writer: rec('R', [f('attrs', { type: 'map', values: 'string' })]),
    reader: rec('R', [f('attrs', { type: 'map', values: 'boolean' })]),
    rw: { rule: 'TYPE_MISMATCH', path: 'R.attrs{}' },
    wr: { rule: 'TYPE_MISMATCH', path: 'R.attrs{}' },
  },
  { name: 'array vs map', writer: { type: 'array', items: 'int' }, reader: { type: 'map', values: 'int' }, rw: { rule: 'TYPE_MISMATCH', path: 'map<int>' }, wr: { rule: 'TYPE_MISMATCH', path: 'array<int>' } },
  // recursive named types
  {
    name: 'recursive list gains a field with a default',
    writer: rec('Node', [f('value', 'int'), f('next', ['null', 'Node'], { default: null })]),
    reader: rec('Node', [f('value', 'int'), f('next', ['null', 'Node'], { default: null }), f('label', 'string', { default: '' })]),
    rw: true,
    wr: true,
  },
  {
    name: 'recursive list gains a field without a default',
    writer: rec('Node', [f('value', 'int'), f('next', ['null', 'Node'], { default: null })]),
    reader: rec('Node', [f('value', 'int'), f('next', ['null', 'Node'], { default: null }), f('label', 'string')]),
    rw: { rule: 'READER_FIELD_MISSING_DEFAULT_VALUE', path: 'Node.label' },
    wr: true,
  },
];

function avscCanRead(reader: unknown, writer: unknown): boolean {
  const r = avro.Type.forSchema(reader as avro.Schema);
  const w = avro.Type.forSchema(writer as avro.Schema);
  try {
    r.createResolver(w, { ignoreNamespaces: true } as never);
    return true;
  } catch {
    return false;
  }
}

function expectOutcome(reader: unknown, writer: unknown, outcome: Outcome): void {
  const result = checkReaderWriter(reader as object, writer as object);
  if (outcome === true) {
    expect(result).toEqual({ compatible: true, reasons: [] });
  } else {
    expect(result.compatible).toBe(false);
    expect(result.reasons.map((r) => ({ rule: r.rule, path: r.path }))).toContainEqual(outcome);
    for (const r of result.reasons) expect(r.message.length).toBeGreaterThan(10);
  }
  expect(avscCanRead(reader, writer), 'avsc agrees').toBe(outcome === true);
}

describe('checkReaderWriter: Avro resolution rules', () => {
  for (const c of CASES) {
    it(`${c.name}: reader reads writer`, () => expectOutcome(c.reader, c.writer, c.rw));
    it(`${c.name}: the other way round`, () => expectOutcome(c.writer, c.reader, c.wr));
  }

  it('reports every incompatibility, not only the first', () => {
    const writer = rec('R', [f('a', 'int'), f('e', { type: 'enum', name: 'E', symbols: ['X', 'Y'] })]);
    const reader = rec('R', [f('a', 'string'), f('e', { type: 'enum', name: 'E', symbols: ['X'] }), f('c', 'int')]);
    const result = checkReaderWriter(reader, writer);
    expect(result.reasons.map((r) => `${r.rule} ${r.path}`)).toEqual([
      'TYPE_MISMATCH R.a',
      'MISSING_ENUM_SYMBOLS R.e',
      'READER_FIELD_MISSING_DEFAULT_VALUE R.c',
    ]);
    expect(result.reasons[1]!.message).toBe('reader enum E lacks the writer symbols [Y] and has no default symbol');
  });

  it('lists each writer union branch the reader union cannot take', () => {
    const result = checkReaderWriter(['null', 'string'], ['null', 'int', 'boolean']);
    expect(result.reasons.map((r) => r.message)).toEqual([
      'reader union lacks a branch that can read writer type int',
      'reader union lacks a branch that can read writer type boolean',
    ]);
  });
});

describe('checkCompatibility: modes', () => {
  const v1 = rec('R', [f('a', 'int')]);
  const withDefault = rec('R', [f('a', 'int'), f('b', 'int', { default: 0 })]);
  const required = rec('R', [f('a', 'int'), f('b', 'int')]);
  const aString = rec('R', [f('a', 'string')]);

  const table: [string, object, object, Record<CompatibilityMode, boolean>][] = [
    ['add a field with a default', v1, withDefault, { BACKWARD: true, FORWARD: true, FULL: true, BACKWARD_TRANSITIVE: true, FORWARD_TRANSITIVE: true, FULL_TRANSITIVE: true, NONE: true }],
    ['add a required field', v1, required, { BACKWARD: false, FORWARD: true, FULL: false, BACKWARD_TRANSITIVE: false, FORWARD_TRANSITIVE: true, FULL_TRANSITIVE: false, NONE: true }],
    ['remove a required field', required, v1, { BACKWARD: true, FORWARD: false, FULL: false, BACKWARD_TRANSITIVE: true, FORWARD_TRANSITIVE: false, FULL_TRANSITIVE: false, NONE: true }],
    ['change a field type', v1, aString, { BACKWARD: false, FORWARD: false, FULL: false, BACKWARD_TRANSITIVE: false, FORWARD_TRANSITIVE: false, FULL_TRANSITIVE: false, NONE: true }],
  ];
  for (const [name, old, next, expected] of table) {
    for (const mode of COMPATIBILITY_MODES) {
      it(`${name}: ${mode} is ${expected[mode] ? 'compatible' : 'incompatible'}`, () => {
        const result = checkCompatibility(old, next, mode);
        expect(result.compatible).toBe(expected[mode]);
        expect(result.reasons.length === 0).toBe(expected[mode]);
      });
    }
  }

  it('says which direction failed', () => {
    const backward = checkCompatibility(v1, required, 'BACKWARD');
    expect(backward.reasons[0]!.message).toMatch(/new schema reading data written with the previous schema/);
    const forward = checkCompatibility(required, v1, 'FORWARD');
    expect(forward.reasons[0]!.message).toMatch(/the previous schema reading data written with the new schema/);
  });

  it('BACKWARD compares with the newest only; BACKWARD_TRANSITIVE with every previous schema', () => {
    const s1 = rec('R', [f('a', 'int')]);
    const s2 = rec('R', [f('a', 'int'), f('b', 'int', { default: 0 })]);
    const s3 = rec('R', [f('a', 'int'), f('b', 'int')]);
    expect(checkCompatibility([s1, s2], s3, 'BACKWARD').compatible).toBe(true);
    const transitive = checkCompatibility([s1, s2], s3, 'BACKWARD_TRANSITIVE');
    expect(transitive.compatible).toBe(false);
    expect(transitive.reasons).toHaveLength(1);
    expect(transitive.reasons[0]).toMatchObject({ rule: 'READER_FIELD_MISSING_DEFAULT_VALUE', path: 'R.b' });
    expect(transitive.reasons[0]!.message).toMatch(/previous schema 1 of 2/);
  });

  it('FORWARD_TRANSITIVE catches an old reader that a newer step would break', () => {
    const s1 = rec('R', [f('a', 'int'), f('b', 'int')]);
    const s2 = rec('R', [f('a', 'int'), f('b', 'int', { default: 0 })]);
    const s3 = rec('R', [f('a', 'int')]);
    expect(checkCompatibility([s1, s2], s3, 'FORWARD').compatible).toBe(true);
    expect(checkCompatibility([s1, s2], s3, 'FORWARD_TRANSITIVE').reasons.map((r) => `${r.rule} ${r.path}`)).toEqual([
      'READER_FIELD_MISSING_DEFAULT_VALUE R.b',
    ]);
    expect(checkCompatibility([s1, s2], s3, 'FULL_TRANSITIVE').compatible).toBe(false);
  });

  it('has nothing to compare with an empty history, and NONE checks nothing', () => {
    expect(checkCompatibility([], aString, 'FULL_TRANSITIVE')).toEqual({ compatible: true, reasons: [] });
    expect(checkCompatibility(v1, aString, 'NONE')).toEqual({ compatible: true, reasons: [] });
  });

  it('takes schemas as JSON text, and a union schema as text rather than as a list', () => {
    expect(checkCompatibility(JSON.stringify(v1), JSON.stringify(withDefault), 'FULL').compatible).toBe(true);
    expect(checkCompatibility('["null","string"]', '["null","string","int"]', 'BACKWARD').compatible).toBe(true);
    expect(checkCompatibility('"int"', '"long"', 'BACKWARD').compatible).toBe(true);
    expect(checkCompatibility('int', 'long', 'FORWARD').compatible).toBe(false);
  });

  it('refuses bad input with a typed error', () => {
    expect(errorCode(() => checkCompatibility(v1, v1, 'SIDEWAYS' as CompatibilityMode))).toBe('ONEX_SCHEMA_700');
    expect(errorCode(() => checkCompatibility(v1, '{not json', 'BACKWARD'))).toBe('ONEX_VALID_101');
    expect(errorCode(() => checkCompatibility(v1, { type: 'record', name: 'R', fields: [{ name: 'a', type: 'nope' }] }, 'BACKWARD'))).toBe('ONEX_SCHEMA_700');
    expect(errorCode(() => checkCompatibility(v1, rec('R', [f('a', 'int', { default: 'x' })]), 'BACKWARD'))).toBe('ONEX_SCHEMA_700');
    expect(errorCode(() => checkCompatibility([v1, { type: 'enum', name: 'E', symbols: ['A', 'A'] }], v1, 'NONE'))).toBe('ONEX_SCHEMA_700');
  });
});
