import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { OnexEventCodec, readWireFormat, writeWireFormat, type SchemaRegistryLike } from '../../../src/codec/index.js';
import { onexError, type OnexError } from '../../../src/errors/index.js';
import { SCHEMA_VERSIONS, encodeEvent, schemaText, transformEvent, type SchemaVersion } from '../../../src/schema/index.js';
import { generateEvent, rng } from '../../fixtures/events/generate.js';

/** A registry in memory: ids global across subjects, the same text under a subject answers the same id. */
class FakeRegistry implements SchemaRegistryLike {
  readonly texts: string[] = [];
  readonly subjects = new Map<string, number[]>();
  registerCalls = 0;
  async register(subject: string, schema: string): Promise<number> {
    this.registerCalls++;
    let id = this.texts.indexOf(schema) + 1;
    if (id === 0) id = this.texts.push(schema);
    const ids = this.subjects.get(subject) ?? [];
    if (!ids.includes(id)) ids.push(id);
    this.subjects.set(subject, ids);
    return id;
  }
  async getSchema(id: number): Promise<string> {
    const text = this.texts[id - 1];
    if (!text) throw onexError('ONEX_REG_200', `schema ${id} not found`);
    return text;
  }
}

const base = {
  event_id: '6f1c1a52-8f0e-4d7a-9b9e-0d3c2f1a4b5c',
  timestamp: '2026-11-23T18:00:00.123456Z',
  node_id: 'stamper_node-001',
  event_type: 'NODE_SUCCESS',
  correlation_id: '0b6d1d6e-32a8-4c57-9a41-2c3b1c5d7e8f',
  metadata: { input_state: { file: 'a.py' }, output_state: { stamped: true }, execution_time_ms: 12.5 },
};

async function codecWithAll(): Promise<{ codec: OnexEventCodec; registry: FakeRegistry }> {
  const registry = new FakeRegistry();
  const codec = new OnexEventCodec({ registry });
  for (const v of SCHEMA_VERSIONS) await codec.prepare(v);
  return { codec, registry };
}

const caught = async (p: Promise<unknown> | (() => unknown)): Promise<OnexError> => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as OnexError;
  }
  throw new Error('expected a failure');
};

describe('Confluent wire format', () => {
  it('frames a body as magic byte 0, big-endian schema id, body', () => {
    const framed = writeWireFormat(258, Buffer.from([7, 8]));
    expect([...framed]).toEqual([0, 0, 0, 1, 2, 7, 8]);
    expect(readWireFormat(framed)).toEqual({ schemaId: 258, body: Buffer.from([7, 8]) });
  });

  it.each([
    ['an empty value', Buffer.alloc(0), /has no value/],
    ['a JSON value', Buffer.from('{"a":1}'), /starts with byte 0x7b, not the wire-format magic byte/],
    ['a truncated header', Buffer.from([0, 0, 1]), /3 bytes long, shorter than the 5-byte wire-format header/],
  ])('refuses %s with ONEX_EVENT_604', (_what, value, message) => {
    let err: OnexError | undefined;
    try {
      readWireFormat(value);
    } catch (e) {
      err = e as OnexError;
    }
    expect(err?.code).toBe('ONEX_EVENT_604');
    expect(err?.message).toMatch(message);
  });
});

describe('OnexEventCodec', () => {
  it('registers each version once, under one subject per major', async () => {
    const { codec, registry } = await codecWithAll();
    await Promise.all(SCHEMA_VERSIONS.map((v) => codec.prepare(v)));
    expect(registry.registerCalls).toBe(SCHEMA_VERSIONS.length);
    expect(registry.subjects.get('onex-event-v1')).toHaveLength(4);
    expect(registry.subjects.get('onex-event-v2')).toHaveLength(1);
    expect(codec.schemaIdOf('1.3.0')).toBe(4);
  });

  it('decodes every written version into every target version, reporting the writer version', async () => {
    const { codec } = await codecWithAll();
    for (const writer of SCHEMA_VERSIONS) {
      const event = transformEvent(base, writer);
      const value = codec.encode(event, writer);
      expect(readWireFormat(value).schemaId).toBe(codec.schemaIdOf(writer));
      // Encoded in place behind the header, the body is the same bytes the schema codec writes on its own.
      expect(readWireFormat(value).body.equals(encodeEvent(event, writer))).toBe(true);
      for (const target of SCHEMA_VERSIONS) {
        const decoded = await codec.decode(value, target);
        expect(decoded.writerVersion).toBe(writer);
        expect(decoded.event).toEqual(transformEvent(event, target));
        expect(decoded.event.event_id).toBe(base.event_id);
        expect(decoded.event.timestamp).toBe(base.timestamp);
      }
    }
  });

  it('writes magic byte, schema id and the body plain avsc writes and reads, for generated events of every version', async () => {
    const { codec } = await codecWithAll();
    for (const v of SCHEMA_VERSIONS) {
      const plainType = avro.Type.forSchema(JSON.parse(schemaText(v)) as avro.Schema, { wrapUnions: 'auto' });
      const r = rng(SCHEMA_VERSIONS.indexOf(v) + 90);
      for (let i = 0; i < 50; i++) {
        const event = generateEvent(r, v, { targetBytes: 1024 });
        const framed = codec.encode(event, v);
        const { schemaId, body } = readWireFormat(framed);
        expect(schemaId).toBe(codec.schemaIdOf(v));
        expect(body.equals(encodeEvent(event, v))).toBe(true);
        // what a reader without the ONEX logical types (another Avro library) makes of the body, written back
        expect(plainType.toBuffer(plainType.fromBuffer(body)).equals(body)).toBe(true);
        expect((await codec.decode(framed, v)).event).toMatchObject(JSON.parse(JSON.stringify(event)) as object);
      }
    }
  });

  it('decodeWritten gives the event as written, and transforming it equals decoding straight to any target', async () => {
    const { codec } = await codecWithAll();
    for (const v of SCHEMA_VERSIONS) {
      const r = rng(SCHEMA_VERSIONS.indexOf(v) + 190);
      for (let i = 0; i < 20; i++) {
        const framed = codec.encode(generateEvent(r, v, { targetBytes: 512 }), v);
        // Without a promise only once the writer schema is known (the first decodeWritten of its id fetched it).
        if (i === 0) expect(codec.decodeWrittenSync(framed)).toBeUndefined();
        const written = await codec.decodeWritten(framed);
        expect(codec.decodeWrittenSync(framed)).toEqual(written);
        expect(written.writerVersion).toBe(v);
        expect(written.event).toEqual((await codec.decode(framed, v)).event);
        for (const target of SCHEMA_VERSIONS) {
          let straight: unknown;
          try {
            straight = (await codec.decode(framed, target)).event;
          } catch (err) {
            straight = (err as OnexError).code;
          }
          let via: unknown;
          try {
            via = target === v ? written.event : transformEvent(written.event, target);
          } catch (err) {
            via = (err as OnexError).code;
          }
          expect(via, `${v} -> ${target}`).toEqual(straight);
        }
      }
    }
  });

  it('asks the registry for a writer schema once per id', async () => {
    const { codec, registry } = await codecWithAll();
    let lookups = 0;
    const getSchema = registry.getSchema.bind(registry);
    registry.getSchema = async (id) => {
      lookups++;
      return getSchema(id);
    };
    const reader = new OnexEventCodec({ registry });
    const value = codec.encode(transformEvent(base, '1.2.0'), '1.2.0');
    await Promise.all(Array.from({ length: 20 }, () => reader.decode(value, '2.0.0')));
    await reader.decode(value, '1.0.0');
    expect(lookups).toBe(1);
  });

  it('refuses to encode with a version that was not prepared, and events that do not fit', async () => {
    const codec = new OnexEventCodec({ registry: new FakeRegistry() });
    expect((await caught(() => codec.encode(base, '1.0.0'))).message).toMatch(/Schema 1\.0\.0 is not registered yet/);
    await codec.prepare('1.0.0');
    const err = await caught(() => codec.encode({ ...base, node_id: 42 }, '1.0.0'));
    expect(err.code).toMatch(/^ONEX_(EVENT_603|VALID_1\d\d)$/);
  });

  it('fails with the right code for an unknown id, a corrupt body and an unknown newer major', async () => {
    const { codec, registry } = await codecWithAll();
    expect((await caught(codec.decode(writeWireFormat(999, Buffer.from([1, 2])), '2.0.0'))).code).toBe('ONEX_EVENT_605');

    const good = codec.encode(transformEvent(base, '1.1.0'), '1.1.0');
    const truncated = good.subarray(0, good.length - 10);
    const corrupt = await caught(codec.decode(truncated, '1.1.0'));
    expect(corrupt.code).toBe('ONEX_EVENT_604');
    expect(corrupt.message).toMatch(/truncated or corrupt/);

    const v3 = JSON.parse(schemaText('2.0.0')) as Record<string, unknown>;
    v3['onex.version'] = '3.0.0';
    // A real new major differs in structure (here a new required field), not only in its version attribute.
    (v3.fields as object[]).push({ name: 'tenant', type: 'string' });
    const id = await registry.register('onex-event-v3', JSON.stringify(v3));
    const future = await caught(codec.decode(writeWireFormat(id, Buffer.from([0])), '2.0.0'));
    expect(future.code).toBe('ONEX_SCHEMA_701');
  });

  it('does not cache a failed writer lookup: a schema registered later decodes', async () => {
    const registry = new FakeRegistry();
    const reader = new OnexEventCodec({ registry });
    const writer = new OnexEventCodec({ registry });
    expect((await caught(reader.decode(writeWireFormat(1, Buffer.from([0])), '1.0.0'))).code).toBe('ONEX_EVENT_605');
    await writer.prepare('1.0.0' as SchemaVersion);
    const value = writer.encode(base, '1.0.0');
    expect((await reader.decode(value, '1.0.0')).event.node_id).toBe('stamper_node-001');
  });
});
