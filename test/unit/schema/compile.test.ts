import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSIONS, type SchemaVersion } from '../../../src/event/index.js';
import { compiledCodec, compiledResolution, readWith, toAvroValue, unwrapV2Metadata } from '../../../src/schema/codec.js';
import { decodeEvent, encodeEvent, knownSchema, loadSchema } from '../../../src/schema/index.js';
import { generateEvent, pick, rng, type Rng } from '../../fixtures/events/generate.js';
import { plain } from './support.js';

/**
 * The compiled codecs against avsc: the same bytes for every event avsc takes, the same events back, and nothing
 * taken that avsc refuses. The compiled codec is called directly, so the avsc fallback cannot hide a difference.
 */

function codecOf(version: SchemaVersion) {
  const codec = compiledCodec(knownSchema(version), version);
  if (!codec) throw new Error(`schema ${version} did not compile`);
  return codec;
}

/** The compiled bytes of an event, or the error the compiled writer gave up with. */
function compiledWrite(version: SchemaVersion, event: Record<string, unknown>, size = 64 * 1024): Buffer | Error {
  const buffer = Buffer.alloc(size);
  try {
    const end = codecOf(version).write(event, buffer, 0);
    return end > buffer.length ? new Error(`needs ${end} bytes`) : buffer.subarray(0, end);
  } catch (err) {
    return err as Error;
  }
}

/** avsc's bytes of the same event: its value as avsc wants it, through avsc's own toBuffer. */
function avscWrite(version: SchemaVersion, event: Record<string, unknown>): Buffer | Error {
  try {
    return knownSchema(version).type.toBuffer(toAvroValue(event, version));
  } catch (err) {
    return err as Error;
  }
}

/** Plain avsc (no ONEX logical types: longs and JSON text), as any other Avro reader sees the bytes. */
const plainTypes = new Map(SCHEMA_VERSIONS.map((v) => [v, avro.Type.forSchema(loadSchema(v) as avro.Schema, { wrapUnions: 'auto' })]));

const events = (version: SchemaVersion, seed: number, count: number, targetBytes?: number) => {
  const r = rng(seed);
  return Array.from({ length: count }, () => generateEvent(r, version, { targetBytes }));
};

describe('compiled Avro codecs', () => {
  for (const version of SCHEMA_VERSIONS) {
    it(`${version}: the same bytes as avsc's toBuffer, and other readers read them back to the same bytes`, () => {
      const plainType = plainTypes.get(version)!;
      for (const event of [...events(version, 70, 150), ...events(version, 71, 50, 1024), ...events(version, 72, 20, 20_000)]) {
        const bytes = compiledWrite(version, event);
        expect(bytes).toBeInstanceOf(Buffer);
        expect((bytes as Buffer).equals(avscWrite(version, event) as Buffer)).toBe(true);
        const raw = plainType.fromBuffer(bytes as Buffer);
        expect(plainType.toBuffer(raw).equals(bytes as Buffer)).toBe(true);
      }
    });

    it(`${version}: reads back what avsc reads, as plain objects`, () => {
      const codec = codecOf(version);
      for (const event of [...events(version, 73, 150), ...events(version, 74, 30, 1024)]) {
        const bytes = encodeEvent(event, version);
        const ours = codec.read(bytes)!;
        const theirs = knownSchema(version).type.fromBuffer(bytes) as Record<string, unknown>;
        if (version === '2.0.0') unwrapV2Metadata(theirs);
        expect(Object.getPrototypeOf(ours)).toBe(Object.prototype);
        expect(ours).toEqual(plain(theirs));
        expect(plain(decodeEvent(bytes, version))).toMatchObject(plain(event));
      }
    });

    it(`${version}: takes nothing avsc refuses (fields replaced by values of every kind)`, () => {
      const r = rng(SCHEMA_VERSIONS.indexOf(version) + 80);
      let refused = 0;
      for (const event of events(version, 75, 300)) {
        const broken = breakOneField(r, event);
        const ours = compiledWrite(version, broken);
        const theirs = avscWrite(version, broken);
        if (ours instanceof Error) refused++;
        else expect(theirs instanceof Error ? theirs.message : (theirs as Buffer).equals(ours)).toBe(true);
      }
      expect(refused).toBeGreaterThan(50);
    });

    it(`${version}: gives up on truncated and trailing bytes`, () => {
      const codec = codecOf(version);
      for (const event of events(version, 76, 20)) {
        const bytes = encodeEvent(event, version);
        for (let cut = 0; cut < bytes.length; cut += 7) expect(codec.read(bytes.subarray(0, cut))).toBeUndefined();
        expect(codec.read(Buffer.concat([bytes, Buffer.from([0])]))).toBeUndefined();
      }
    });
  }

  it('reads bytes of an earlier 1.x MINOR into a later one as avsc resolution does, and leaves other pairs to avsc', () => {
    const minors = SCHEMA_VERSIONS.filter((v) => v.startsWith('1.'));
    for (const [i, writer] of minors.entries()) {
      for (const reader of minors.slice(i + 1)) {
        const read = compiledResolution(knownSchema(writer), knownSchema(reader), reader);
        expect(read, `${writer} -> ${reader}`).toBeDefined();
        const resolver = knownSchema(reader).type.createResolver(knownSchema(writer).type, { ignoreNamespaces: true });
        for (const event of [...events(writer, 78, 60), ...events(writer, 79, 20, 1024)]) {
          const bytes = encodeEvent(event, writer);
          const theirs = readWith(knownSchema(reader), reader, resolver, bytes);
          expect(Object.getPrototypeOf(theirs)).not.toBe(Object.prototype); // avsc's own record: not the compiled path
          expect(read!(bytes)).toEqual(plain(theirs));
        }
        expect(read!(Buffer.concat([encodeEvent(events(writer, 1, 1)[0]!, writer), Buffer.from([2])]))).toBeUndefined();
      }
      for (const reader of [...minors.slice(0, i), '2.0.0' as const]) {
        expect(compiledResolution(knownSchema(writer), knownSchema(reader), reader), `${writer} -> ${reader}`).toBeUndefined();
      }
    }
  });

  it('writes strings of every length and script as avsc does, across the length prefix sizes', () => {
    const lengths = [0, 1, 21, 22, 63, 64, 65, 2730, 2731, 4096, 8191, 8192, 40_000];
    for (const unit of ['a', 'é', '日', '🚀', 'a日']) {
      for (const n of lengths) {
        const node_id = unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
        const event = { event_id: 'e', timestamp: '2025-05-25T14:17:21.178483Z', node_id, event_type: 'NODE_START', metadata: { node_id } };
        const bytes = compiledWrite('1.0.0', event, 512 * 1024);
        expect((bytes as Buffer).equals(avscWrite('1.0.0', event) as Buffer)).toBe(true);
        // a lone surrogate (🚀 cut in half) has no UTF-8 form: it reads back as avsc reads it
        const theirs = (knownSchema('1.0.0').type.fromBuffer(bytes as Buffer) as { node_id: string }).node_id;
        expect(codecOf('1.0.0').read(bytes as Buffer)!.node_id).toBe(theirs);
        if (n % 2 === 0 || unit !== '🚀') expect(theirs).toBe(node_id);
      }
    }
  });

  it('says when an event does not fit the buffer, and encodeEvent then writes it into a larger one', () => {
    const event = { event_id: 'e', timestamp: '2025-05-25T14:17:21.178483Z', node_id: 'n', event_type: 'NODE_START', metadata: { blob: 'é'.repeat(50_000) } };
    const buffer = Buffer.alloc(1000);
    expect(codecOf('1.0.0').write(event, buffer, 0)).toBeGreaterThan(1000);
    const expected = avscWrite('1.0.0', event) as Buffer;
    // many in a row: each one larger than what is left of the slab
    for (let i = 0; i < 20; i++) expect(encodeEvent(event, '1.0.0').equals(expected)).toBe(true);
  });

  it('encodes an event whose metadata encodes another event while it is serialised (toJSON)', () => {
    const [inner, outer] = events('1.0.0', 81, 2) as [Record<string, unknown>, Record<string, unknown>];
    const nested = { ...outer, metadata: { inner: { toJSON: () => encodeEvent(inner, '1.0.0').toString('base64') } } };
    const plainValue = { ...outer, metadata: { inner: encodeEvent(inner, '1.0.0').toString('base64') } };
    expect(encodeEvent(nested, '1.0.0').equals(encodeEvent(plainValue, '1.0.0'))).toBe(true);
  });

  it('leaves room for a header when asked', () => {
    const [event] = events('2.0.0', 77, 1);
    const body = encodeEvent(event!, '2.0.0');
    const framed = encodeEvent(event!, '2.0.0', 5);
    expect(framed.subarray(5).equals(body)).toBe(true);
  });
});

const ODD_VALUES: unknown[] = [undefined, null, 0, -1, 1.5, Number.NaN, 2 ** 53, '', 'x', '2025-13-01T00:00:00.000000Z', true, {}, [], ['x'], [1], { untyped: 1 }];

/** A copy of the event with one field, top-level or one level down, replaced by a value of another kind. */
function breakOneField(r: Rng, event: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(event);
  let target = copy;
  const nested = Object.entries(copy).filter(([, v]) => v !== null && typeof v === 'object' && !Array.isArray(v));
  if (nested.length > 0 && r() < 0.5) target = pick(r, nested)[1] as Record<string, unknown>;
  const keys = Object.keys(target);
  if (keys.length === 0) return copy;
  target[pick(r, keys)] = pick(r, ODD_VALUES);
  return copy;
}
