import { describe, expect, it } from 'vitest';
import {
  EVENT_TYPES,
  METADATA_RULES,
  SCHEMA_VERSIONS,
  validateEvent,
  type OnexEventV2_0,
  type SchemaVersion,
  type TypedEventType,
} from '../../../src/event/index.js';
import { decodeAs, encodeEvent, flattenMetadata, knownSchema, transformEvent, typeMetadata } from '../../../src/schema/index.js';
import { resolutionPlan } from '../../../src/schema/plan.js';
import { generateEvent, rng, standardMetadata } from '../../fixtures/events/generate.js';
import { errorCode, plain } from './support.js';

const V1: SchemaVersion[] = SCHEMA_VERSIONS.filter((v) => v.startsWith('1.'));
const SHARED_WITH_13 = ['event_id', 'timestamp', 'node_id', 'event_type', 'correlation_id', 'metadata', 'error_code', 'parent_correlation_id', 'trace_id', 'sample_rate', 'replay'];

describe('migration 1.x -> 2.0.0 -> 1.3.0', () => {
  for (const version of V1) {
    it(`${version}: round trips keep every field both versions have (300 generated events)`, () => {
      const r = rng(1000 + V1.indexOf(version));
      for (let i = 0; i < 300; i++) {
        const event = generateEvent(r, version);
        const v2 = transformEvent(event, '2.0.0');
        expect(validateEvent(v2).valid).toBe(true);
        const back = plain(transformEvent(v2, '1.3.0'));
        for (const key of SHARED_WITH_13) {
          if (key in event) expect(back[key], `${String(event.event_type)}.${key}`).toEqual(event[key]);
        }
        expect(back.schema_version).toBe('1.3.0');
        // and down to the original version: the event itself
        expect(plain(transformEvent(v2, version))).toEqual(plain({ ...event, ...(version === '1.0.0' ? {} : { schema_version: version }) }));
      }
    });
  }

  it('the binary path (decode with the writer schema, upcast, encode, decode and downcast) equals the in-memory one', () => {
    const r = rng(77);
    for (let i = 0; i < 200; i++) {
      const version = V1[i % V1.length]!;
      const event = generateEvent(r, version);
      const up = decodeAs(version, encodeEvent(event, version), '2.0.0');
      expect(plain(up)).toEqual(plain(transformEvent(event, '2.0.0')));
      const down = decodeAs('2.0.0', encodeEvent(up, '2.0.0'), version);
      expect(plain(down)).toEqual(plain(transformEvent(event, version)));
    }
  });

  it('a 2.0.0 event survives 2.0.0 -> 1.3.0 -> 2.0.0 except what 1.3.0 cannot carry', () => {
    const r = rng(5);
    for (let i = 0; i < 100; i++) {
      const v2 = generateEvent(r, '2.0.0') as unknown as OnexEventV2_0;
      const again = plain(transformEvent(transformEvent(v2, '1.3.0'), '2.0.0'));
      const expected = plain(v2);
      // dropped on the way down: span id and flags, and a signature-only security block
      if (expected.trace) expected.trace = { ...(expected.trace as object), span_id: null, trace_flags: 0 };
      expected.security = null;
      expect(again).toEqual(expected);
    }
  });
});

describe('typed metadata (1.x JSON -> 2.0.0 record -> JSON)', () => {
  for (const type of Object.keys(METADATA_RULES) as TypedEventType[]) {
    it(`${type}: standard keys become typed fields, the rest goes to extra, and back`, () => {
      const r = rng(type.length * 31);
      for (let i = 0; i < 50; i++) {
        const metadata = standardMetadata(r, type)!;
        const typed = typeMetadata(type, metadata) as unknown as Record<string, unknown>;
        expect(typed).not.toHaveProperty('untyped');
        const rule = METADATA_RULES[type];
        for (const key of Object.keys(rule.required)) expect(typed[key]).toEqual(metadata[key]);
        for (const key of Object.keys(rule.optional)) expect(typed[key]).toEqual(metadata[key] ?? null);
        const custom = Object.keys(metadata).filter((k) => !(k in rule.required) && !(k in rule.optional));
        expect(typed.extra === null ? [] : Object.keys(typed.extra as object)).toEqual(custom);
        expect(flattenMetadata(type, typed)).toEqual(metadata);
        // the record is what the 2.0.0 schema encodes
        const event = { ...generateEvent(r, '2.0.0', { eventType: type }), metadata: typed };
        expect(plain(decodeAs('2.0.0', encodeEvent(event, '2.0.0'), '2.0.0').metadata)).toEqual(plain(typed));
      }
    });
  }

  it('every event type without a standard travels untyped', () => {
    const typed = new Set(Object.keys(METADATA_RULES));
    for (const type of EVENT_TYPES['2.0.0'].filter((t) => !typed.has(t))) {
      expect(typeMetadata(type, { a: 1 })).toEqual({ untyped: { a: 1 } });
    }
    expect(typeMetadata('UNKNOWN', { a: 1 })).toEqual({ untyped: { a: 1 } });
  });

  it('metadata that breaks its standard travels untyped, losslessly', () => {
    const missing = { error: 'no input_state here' };
    expect(typeMetadata('NODE_FAILURE', missing)).toEqual({ untyped: missing });
    const wrong = { input_state: 'not an object', error: 'x' };
    expect(typeMetadata('NODE_FAILURE', wrong)).toEqual({ untyped: wrong });
    const event = { event_id: '00000000-0000-4000-8000-000000000009', timestamp: '2025-01-01T00:00:00.000000Z', node_id: 'n', event_type: 'NODE_FAILURE', metadata: wrong };
    // a decoded or transformed event has every field of its version, null when absent
    expect(plain(transformEvent(transformEvent(event, '2.0.0'), '1.0.0'))).toEqual({ ...event, correlation_id: null });
  });

  it('an optional key of the wrong type, or explicitly null, keeps its value in extra', () => {
    const metadata = { input_state: {}, node_version: 2, operation_type: null, extra: 'a key named extra' };
    const typed = typeMetadata('NODE_START', metadata);
    expect(typed).toEqual({ input_state: {}, node_version: null, operation_type: null, extra: { node_version: 2, operation_type: null, extra: 'a key named extra' } });
    expect(flattenMetadata('NODE_START', typed)).toEqual(metadata);
  });

  it('keeps integer kinds within their Avro range', () => {
    expect(typeMetadata('TELEMETRY_OPERATION_START', { operation: 'o', function: 'f', args_count: 2 ** 31 })).toMatchObject({
      args_count: null,
      extra: { args_count: 2 ** 31 },
    });
    expect(typeMetadata('PERFORMANCE_PROFILE', { operation: 'o', duration_ms: 1, memory_peak_bytes: 2 ** 40 })).toMatchObject({ memory_peak_bytes: 2 ** 40, extra: null });
  });
});

describe('envelope mapping between 1.x and 2.0.0', () => {
  const base = { event_id: '00000000-0000-4000-8000-00000000000a', timestamp: '2025-01-01T00:00:00.000001Z', node_id: 'n_node-1' };

  it('maps error_code to an error record with severity and recoverability from the ONEX registry', () => {
    const v2 = transformEvent({ ...base, schema_version: '1.1.0', event_type: 'NODE_REGISTER', error_code: 'ONEX_SYS_903' }, '2.0.0');
    expect(v2.error).toEqual({ code: 'ONEX_SYS_903', severity: 'ERROR', recoverable: 'Retry' });
    const unknown = transformEvent({ ...base, schema_version: '1.1.0', event_type: 'NODE_REGISTER', error_code: 'ONEX_FUTURE_999' }, '2.0.0');
    expect(unknown.error).toEqual({ code: 'ONEX_FUTURE_999', severity: null, recoverable: null });
    expect(transformEvent(v2, '1.2.0').error_code).toBe('ONEX_SYS_903');
  });

  it('takes the error code of a 1.0.0 failure from its metadata, where 1.0.0 kept it', () => {
    const v2 = transformEvent({ ...base, event_type: 'NODE_FAILURE', metadata: { input_state: {}, error: 'x', error_code: 'ONEX_REG_202' } }, '2.0.0');
    expect(v2.error).toEqual({ code: 'ONEX_REG_202', severity: 'CRITICAL', recoverable: 'No' });
    expect(v2.metadata).toMatchObject({ error_code: 'ONEX_REG_202' });
  });

  it('maps trace_id to a trace context and back, verbatim', () => {
    const v2 = transformEvent({ ...base, schema_version: '1.3.0', event_type: 'STRUCTURED_LOG', trace_id: 'not-w3c-but-kept' }, '2.0.0');
    expect(v2.trace).toEqual({ trace_id: 'not-w3c-but-kept', span_id: null, trace_flags: 0 });
    expect(transformEvent(v2, '1.1.0').trace_id).toBe('not-w3c-but-kept');
    expect(transformEvent({ ...base, event_type: 'STRUCTURED_LOG' }, '2.0.0').trace).toBeNull();
  });

  it('fills what 2.0.0 adds and 1.0.0 lacks with their defaults', () => {
    expect(plain(transformEvent({ ...base, event_type: 'NODE_ANNOUNCE_ACCEPTED', schema_version: '1.1.0' }, '2.0.0'))).toEqual({
      ...base,
      event_type: 'NODE_ANNOUNCE_ACCEPTED',
      schema_version: '2.0.0',
      correlation_id: null,
      parent_correlation_id: null,
      trace: null,
      error: null,
      sample_rate: 1,
      replay: null,
      security: null,
      metadata: null,
    });
  });

  it('downcasting to a version without the event type gives the enum default UNKNOWN', () => {
    const v2 = transformEvent({ ...base, schema_version: '1.3.0', event_type: 'PERFORMANCE_PROFILE', metadata: { operation: 'o', duration_ms: 2 } }, '2.0.0');
    expect(transformEvent(v2, '1.3.0').event_type).toBe('PERFORMANCE_PROFILE');
    expect(transformEvent(v2, '1.2.0').event_type).toBe('UNKNOWN');
    expect(transformEvent(v2, '1.2.0').metadata).toEqual({ operation: 'o', duration_ms: 2 });
  });

  it('refuses to downcast an event with encrypted fields (1.3.0 could not mark them)', () => {
    const v2 = { ...transformEvent({ ...base, event_type: 'STRUCTURED_LOG' }, '2.0.0'), security: { key_id: 'k', algorithm: 'aes-256-gcm', signature: null, encrypted_fields: ['metadata.secret'] } };
    expect(errorCode(() => transformEvent(v2, '1.3.0'))).toBe('ONEX_SCHEMA_702');
  });

  it('refuses an event that does not fit its own version with ONEX_SCHEMA_702', () => {
    expect(errorCode(() => transformEvent({ ...base, event_type: 'STRUCTURED_LOG', node_id: 42 }, '1.2.0'))).toBe('ONEX_SCHEMA_702');
    expect(errorCode(() => transformEvent({ ...base, schema_version: '2.0.0', event_type: 'STRUCTURED_LOG', metadata: { a: 1 } }, '1.3.0'))).toBe('ONEX_SCHEMA_702');
    expect(errorCode(() => transformEvent({ ...base, event_type: 'STRUCTURED_LOG' }, '9.9.9' as SchemaVersion))).toBe('ONEX_SCHEMA_704');
  });

  it('reads a PATCH or a newer MINOR as the known version, dropping fields it does not know', () => {
    const newer = { ...base, schema_version: '1.7.2', event_type: 'STRUCTURED_LOG', sample_rate: 0.5, invented_later: true };
    const got = plain(transformEvent(newer, '1.3.0'));
    expect(got).not.toHaveProperty('invented_later');
    expect(got).toMatchObject({ schema_version: '1.3.0', sample_rate: 0.5 });
    // a PATCH has its MINOR's schema: nothing to transform
    const patch = { ...base, schema_version: '1.2.5', event_type: 'STRUCTURED_LOG' };
    expect(transformEvent(patch, '1.2.0')).toBe(patch);
    expect(transformEvent(patch, '1.3.0').schema_version).toBe('1.3.0');
  });

  it('reads a newer MINOR of the target version in memory, by the plan of that version with itself', () => {
    // Encoding and decoding would rewrite the timestamp as six-digit microseconds; the in-memory read keeps the text.
    const newer = { ...base, timestamp: '2025-01-01T00:00:00Z', schema_version: '1.7.0', event_type: 'STRUCTURED_LOG', invented_later: 1 };
    const got = plain(transformEvent(newer, '1.3.0'));
    expect(got).toEqual(plain(resolutionPlan(knownSchema('1.3.0'), '1.3.0', knownSchema('1.3.0'), '1.3.0').readValue({ ...newer, schema_version: '1.3.0' } as never)));
    expect(got).toMatchObject({ timestamp: '2025-01-01T00:00:00Z', schema_version: '1.3.0' });
    expect(got).not.toHaveProperty('invented_later');
    // a value that does not fit the version is still refused, naming the field
    expect(() => transformEvent({ ...newer, node_id: 42 }, '1.3.0')).toThrow(/node_id must be string/);
  });

  it('returns an event already in the target version as it is', () => {
    const event = { ...base, schema_version: '1.2.0', event_type: 'STRUCTURED_LOG' };
    expect(transformEvent(event, '1.2.0')).toBe(event);
  });
});
