import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { checkCompatibility, checkReaderWriter } from '../../../src/schema/index.js';
import { int, pick, rng, type Rng } from '../../fixtures/events/generate.js';

/**
 * Property-style: random schemas and random evolutions of them. For every (reader, writer) pair the checker's
 * verdict must be avsc's (can it build a resolver?), and when compatible, random data written with the writer must
 * decode with the reader.
 */
type Schema = unknown;

let names = 0;
const PRIMS = ['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'];

function randomType(r: Rng, depth: number): Schema {
  const roll = r();
  if (depth <= 0 || roll < 0.4) return pick(r, PRIMS.slice(1));
  if (roll < 0.5) return { type: 'enum', name: `E${names++}`, symbols: ['A', 'B', 'C'].slice(0, int(r, 1, 3)) };
  if (roll < 0.58) return { type: 'fixed', name: `F${names++}`, size: int(r, 1, 4) };
  if (roll < 0.68) return { type: 'array', items: randomType(r, depth - 1) };
  if (roll < 0.76) return { type: 'map', values: randomType(r, depth - 1) };
  if (roll < 0.88) return ['null', randomNonNull(r, depth - 1)];
  return randomRecord(r, depth - 1);
}

function randomNonNull(r: Rng, depth: number): Schema {
  const t = randomType(r, depth);
  return Array.isArray(t) || t === 'null' ? 'string' : t;
}

function randomRecord(r: Rng, depth: number): Schema {
  const fields = Array.from({ length: int(r, 1, 4) }, (_, i) => {
    const type = randomType(r, depth);
    return Array.isArray(type) ? { name: `f${i}`, type, default: null } : { name: `f${i}`, type };
  });
  return { type: 'record', name: `R${names++}`, fields };
}

const PROMOTE: Record<string, string[]> = { int: ['long', 'float', 'double', 'string'], long: ['float', 'double', 'int'], float: ['double', 'int'], double: ['float'], string: ['bytes', 'int'], bytes: ['string'], boolean: ['int'] };

/** One random change that may or may not keep compatibility. */
function mutate(r: Rng, s: Schema): Schema {
  const copy = structuredClone(s);
  const visit = (node: Schema, set: (n: Schema) => void): boolean => {
    if (typeof node === 'string') {
      if (PROMOTE[node] && r() < 0.3) {
        set(pick(r, PROMOTE[node]!));
        return true;
      }
      return false;
    }
    if (Array.isArray(node)) return node.some((b, i) => visit(b, (n) => (node[i] = n)));
    const o = node as Record<string, unknown>;
    if (o.type === 'record') {
      const fields = o.fields as Record<string, unknown>[];
      const roll = r();
      if (roll < 0.12) {
        fields.push(r() < 0.5 ? { name: `added${names++}`, type: 'int', default: 0 } : { name: `added${names++}`, type: 'int' });
        return true;
      }
      if (roll < 0.2 && fields.length > 1) {
        fields.splice(int(r, 0, fields.length - 1), 1);
        return true;
      }
      if (roll < 0.26) {
        const f = pick(r, fields);
        const old = f.name as string;
        f.name = `${old}_renamed`;
        if (r() < 0.5) f.aliases = [old];
        return true;
      }
      if (roll < 0.3) {
        o.name = `${String(o.name)}X`;
        return true;
      }
      return fields.some((f) => visit(f.type, (n) => {
        f.type = n;
        if (Array.isArray(n) && !('default' in f)) f.default = null;
      }));
    }
    if (o.type === 'enum') {
      const symbols = o.symbols as string[];
      const roll = r();
      if (roll < 0.3) symbols.push(`S${names++}`);
      else if (roll < 0.5 && symbols.length > 1) symbols.pop();
      else if (roll < 0.6) {
        o.symbols = ['U', ...symbols];
        o.default = 'U';
      } else return false;
      return true;
    }
    if (o.type === 'fixed') {
      if (r() < 0.3) {
        o.size = (o.size as number) + 1;
        return true;
      }
      return false;
    }
    if (o.type === 'array') return visit(o.items, (n) => (o.items = n));
    if (o.type === 'map') return visit(o.values, (n) => (o.values = n));
    return false;
  };
  for (let tries = 0; tries < 5; tries++) if (visit(copy, () => undefined)) break;
  return copy;
}

function avscVerdict(reader: Schema, writer: Schema): { ok: boolean; w: avro.Type; resolver?: avro.Resolver; rt: avro.Type } {
  const rt = avro.Type.forSchema(reader as avro.Schema);
  const w = avro.Type.forSchema(writer as avro.Schema);
  try {
    return { ok: true, w, rt, resolver: rt.createResolver(w, { ignoreNamespaces: true } as never) };
  } catch {
    return { ok: false, w, rt };
  }
}

describe('compatibility checker against avsc on random evolutions', () => {
  it('agrees with avsc on 400 random (reader, writer) pairs, and compatible pairs decode random data', () => {
    const r = rng(2024);
    let compatible = 0;
    const rules = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const base = randomRecord(r, 3);
      const evolved = mutate(r, base);
      for (const [reader, writer] of [
        [evolved, base],
        [base, evolved],
      ]) {
        const mine = checkReaderWriter(reader as object, writer as object);
        const theirs = avscVerdict(reader, writer);
        expect(mine.compatible, JSON.stringify({ reader, writer, reasons: mine.reasons })).toBe(theirs.ok);
        if (theirs.ok) {
          compatible++;
          for (let k = 0; k < 3; k++) {
            const bytes = theirs.w.toBuffer(theirs.w.random());
            expect(() => theirs.rt.fromBuffer(bytes, theirs.resolver)).not.toThrow();
          }
        } else {
          expect(mine.reasons.length).toBeGreaterThan(0);
          for (const reason of mine.reasons) rules.add(reason.rule);
        }
      }
    }
    // both outcomes are well represented
    expect(compatible).toBeGreaterThan(60);
    expect(compatible).toBeLessThan(370);
    // and the incompatible ones exercise every rule
    expect([...rules].sort()).toEqual(['FIXED_SIZE_MISMATCH', 'MISSING_ENUM_SYMBOLS', 'MISSING_UNION_BRANCH', 'NAME_MISMATCH', 'READER_FIELD_MISSING_DEFAULT_VALUE', 'TYPE_MISMATCH']);
  });

  it('FULL is exactly BACKWARD and FORWARD on random pairs', () => {
    const r = rng(7);
    for (let i = 0; i < 150; i++) {
      const a = randomRecord(r, 2);
      const b = mutate(r, a);
      const full = checkCompatibility(a as object, b as object, 'FULL').compatible;
      const both = checkCompatibility(a as object, b as object, 'BACKWARD').compatible && checkCompatibility(a as object, b as object, 'FORWARD').compatible;
      expect(full).toBe(both);
    }
  });
});
