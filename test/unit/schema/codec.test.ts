import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSIONS } from '../../../src/event/index.js';
import { avroType, createDecoder, decodeAs, decodeEvent, encodeEvent, loadSchema } from '../../../src/schema/index.js';
import { generateEvent, rng } from '../../fixtures/events/generate.js';
import { failure, plain } from './support.js';

const base = { event_id: '00000000-0000-4000-8000-000000000005', timestamp: '2025-05-25T14:17:21.178483Z', node_id: 'n_node-1' };

describe('Avro codec', () => {
  for (const version of SCHEMA_VERSIONS) {
    it(`${version}: encode then decode gives the event back (200 generated events)`, () => {
      const r = rng(SCHEMA_VERSIONS.indexOf(version) + 40);
      for (let i = 0; i < 200; i++) {
        const event = generateEvent(r, version);
        expect(plain(decodeEvent(encodeEvent(event, version), version))).toMatchObject(plain(event));
      }
    });
  }

  it('keeps microseconds and writes them as timestamp-micros', () => {
    const bytes = encodeEvent({ ...base, event_type: 'STRUCTURED_LOG' }, '1.0.0');
    const raw = avro.Type.forSchema(loadSchema('1.0.0') as avro.Schema).fromBuffer(bytes) as { timestamp: number };
    expect(raw.timestamp).toBe(1748182641178483);
    expect(decodeEvent(bytes, '1.0.0').timestamp).toBe('2025-05-25T14:17:21.178483Z');
    const offset = encodeEvent({ ...base, timestamp: '2025-05-25T16:17:21.178483+02:00', event_type: 'STRUCTURED_LOG' }, '1.0.0');
    expect(decodeEvent(offset, '1.0.0').timestamp).toBe('2025-05-25T14:17:21.178483Z');
  });

  it('writes JSON payloads as JSON text that readers without the logical type see as a string', () => {
    const bytes = encodeEvent({ ...base, event_type: 'STRUCTURED_LOG', metadata: { msg: 'héllo', n: [1, 2] } }, '1.0.0');
    const raw = avro.Type.forSchema(loadSchema('1.0.0') as avro.Schema).fromBuffer(bytes) as { metadata: string };
    expect(raw.metadata).toBe('{"msg":"héllo","n":[1,2]}');
  });

  it('writes schema_version truthfully: filled in when absent, refused when it names another version', () => {
    const event = { ...base, event_type: 'STRUCTURED_LOG' };
    const raw = avro.Type.forSchema(loadSchema('1.2.0') as avro.Schema).fromBuffer(encodeEvent(event, '1.2.0')) as { schema_version: string };
    expect(raw.schema_version).toBe('1.2.0');
    expect(event).not.toHaveProperty('schema_version');
    expect(failure(() => encodeEvent({ ...event, schema_version: '1.1.0' }, '1.2.0'))).toBe(
      'ONEX_VALID_107: The event says schema_version 1.1.0 but is being encoded with schema 1.2.0; transform it first.',
    );
    expect(encodeEvent({ ...event, schema_version: '1.2.9' }, '1.2.0').length).toBeGreaterThan(0);
    expect(failure(() => encodeEvent({ ...event, schema_version: '1.2.0' }, '1.0.0'))).toMatch(/^ONEX_VALID_107: /);
    // without a version, the event's own decides
    expect(decodeEvent(encodeEvent({ ...event, schema_version: '1.3.0' }), '1.3.0').schema_version).toBe('1.3.0');
  });

  it('encodes 2.0.0 metadata into the union branch of the event type', () => {
    const event = { ...base, schema_version: '2.0.0', event_type: 'NODE_START', metadata: { input_state: { a: 1 } } };
    const raw = avroType('2.0.0').fromBuffer(encodeEvent(event, '2.0.0')) as { metadata: Record<string, unknown> };
    expect(Object.keys(raw.metadata)).toEqual(['onex.event.NodeStartMetadata']);
    expect(plain(decodeEvent(encodeEvent(event, '2.0.0'), '2.0.0').metadata)).toEqual({ input_state: { a: 1 }, node_version: null, operation_type: null, extra: null });
    const untyped = { ...event, event_type: 'STRUCTURED_LOG', metadata: { untyped: { msg: 'x' } } };
    expect(plain(decodeEvent(encodeEvent(untyped, '2.0.0'), '2.0.0').metadata)).toEqual({ untyped: { msg: 'x' } });
    expect(failure(() => encodeEvent({ ...untyped, metadata: { msg: 'x' } }, '2.0.0'))).toMatch(/^ONEX_EVENT_603: STRUCTURED_LOG events have no typed metadata in 2\.0\.0/);
  });

  it('says which field does not fit, in one sentence', () => {
    expect(failure(() => encodeEvent({ ...base, node_id: 42, event_type: 'STRUCTURED_LOG' }, '1.0.0'))).toBe(
      'ONEX_EVENT_603: The event does not fit schema 1.0.0: node_id must be string, got 42.',
    );
    expect(failure(() => encodeEvent({ ...base, event_type: 'NOT_A_TYPE' }, '1.0.0'))).toMatch(/^ONEX_EVENT_603: .*event_type must be enum, got "NOT_A_TYPE"/);
    expect(failure(() => encodeEvent({ ...base, timestamp: 'soon', event_type: 'STRUCTURED_LOG' }, '1.0.0'))).toMatch(/^ONEX_EVENT_603: .*timestamp must be timestamp-micros, got "soon"/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(failure(() => encodeEvent({ ...base, event_type: 'STRUCTURED_LOG', metadata: cyclic }, '1.0.0'))).toMatch(/^ONEX_EVENT_603: /);
  });

  it('refuses truncated and trailing bytes', () => {
    const bytes = encodeEvent({ ...base, event_type: 'STRUCTURED_LOG', metadata: { a: 1 } }, '1.0.0');
    expect(failure(() => decodeEvent(bytes.subarray(0, bytes.length - 3), '1.0.0'))).toMatch(/^ONEX_EVENT_603: The event bytes do not decode/);
    expect(failure(() => decodeEvent(Buffer.concat([bytes, Buffer.from([0])]), '1.0.0'))).toMatch(/^ONEX_EVENT_603: /);
  });

  it('encodes events larger than its scratch buffer', () => {
    const big = { ...base, event_type: 'STRUCTURED_LOG', metadata: { blob: 'z'.repeat(300_000) } };
    expect(decodeEvent(encodeEvent(big, '1.0.0'), '1.0.0').metadata).toEqual(big.metadata);
    // and small ones after it still come out right
    const small = { ...base, event_type: 'STRUCTURED_LOG' };
    expect(plain(decodeEvent(encodeEvent(small, '1.0.0'), '1.0.0'))).toEqual({ ...small, correlation_id: null, metadata: null });
  });

  it('returns buffers that later encodes do not overwrite', () => {
    const a = encodeEvent({ ...base, event_type: 'NODE_REGISTER' }, '1.0.0');
    const copy = Buffer.from(a);
    encodeEvent({ ...base, event_type: 'STRUCTURED_LOG', metadata: { other: true } }, '1.0.0');
    expect(a.equals(copy)).toBe(true);
  });

  it('caches types and decoders, and shares frozen schemas', () => {
    expect(avroType('1.1.0')).toBe(avroType('1.1.0'));
    expect(createDecoder('1.0.0', '2.0.0')).toBe(createDecoder('1.0.0', '2.0.0'));
    expect(createDecoder(avroType('1.0.0'), '2.0.0')).toBe(createDecoder('1.0.0', '2.0.0'));
    expect(Object.isFrozen(loadSchema('1.0.0'))).toBe(true);
    expect(failure(() => loadSchema('1.4.0' as never))).toMatch(/^ONEX_SCHEMA_704/);
    expect(failure(() => createDecoder('1.0.0', '7.0.0' as never))).toMatch(/^ONEX_SCHEMA_704/);
  });

  it('refuses a writer schema it cannot resolve, with the reason', () => {
    const odd = structuredClone(loadSchema('1.1.0')) as { fields: { name: string; type: unknown }[] };
    odd.fields.find((f) => f.name === 'node_id')!.type = 'int';
    const message = failure(() => decodeAs(odd, Buffer.alloc(0), '1.2.0'));
    expect(message).toMatch(/^ONEX_SCHEMA_701: Data written with schema 1\.1\.0 cannot be read as 1\.2\.0: OnexEvent\.node_id: reader type string cannot read writer type int/);
  });
});
