import { describe, expect, it } from 'vitest';
import {
  isUuid,
  DEFAULT_LIMITS,
  METADATA_RULES,
  ValidationError,
  SCHEMA_VERSIONS,
  enforceValidation,
  validateDecodedEvent,
  validateEvent,
  validateMetadata,
  type SchemaVersion,
  type TypedEventType,
} from '../../../src/event/index.js';
import { createDecoder, decodeEvent, encodeEvent, transformEvent } from '../../../src/schema/index.js';
import { generateEvent, rng } from '../../fixtures/events/generate.js';

const base = {
  event_id: '3b6add0b-50e3-4e56-810f-833967137898',
  timestamp: '2025-05-25T14:17:21.178483Z',
  node_id: 'stamper_node-001',
};

function codes(event: unknown, limits?: Partial<typeof DEFAULT_LIMITS>) {
  const r = validateEvent(event, { mode: 'non-strict', limits });
  return r.errors.map((e) => `${e.code} ${String(e.details?.path)}`);
}

/** metadata nested `levels` deep, counting the metadata object itself as level 1. */
function nested(levels: number): Record<string, unknown> {
  let inner: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) inner = { child: inner };
  return inner;
}

describe('validateEvent: the envelope', () => {
  it('accepts a minimal valid 1.0.0 event and reports the version', () => {
    const r = validateEvent({ ...base, event_type: 'STRUCTURED_LOG' });
    expect(r).toMatchObject({ valid: true, version: '1.0.0', errors: [] });
  });

  it('names every missing required field with ONEX_VALID_103', () => {
    expect(codes({ event_type: 'STRUCTURED_LOG' })).toEqual([
      'ONEX_VALID_103 event_id',
      'ONEX_VALID_103 timestamp',
      'ONEX_VALID_103 node_id',
    ]);
    expect(codes({ ...base })).toEqual(['ONEX_VALID_103 event_type']);
  });

  it('rejects wrong types with ONEX_VALID_104 and broken constraints with ONEX_VALID_105', () => {
    expect(codes({ ...base, event_id: 42, event_type: 'STRUCTURED_LOG' })).toEqual(['ONEX_VALID_104 event_id']);
    expect(codes({ ...base, event_id: 'not-a-uuid', event_type: 'STRUCTURED_LOG' })).toEqual(['ONEX_VALID_105 event_id']);
    expect(codes({ ...base, node_id: '  ', event_type: 'STRUCTURED_LOG' })).toEqual(['ONEX_VALID_105 node_id']);
    expect(codes({ ...base, node_id: 7, event_type: 'STRUCTURED_LOG' })).toEqual(['ONEX_VALID_104 node_id']);
    expect(codes({ ...base, correlation_id: 5, event_type: 'STRUCTURED_LOG' })).toEqual(['ONEX_VALID_104 correlation_id']);
    expect(codes('not an event')).toEqual(['ONEX_VALID_104 ']);
  });

  it('wants a valid UTC timestamp', () => {
    const ev = { ...base, event_type: 'STRUCTURED_LOG' };
    expect(codes({ ...ev, timestamp: '2025-05-25T16:17:21.178483+02:00' })).toEqual(['ONEX_VALID_105 timestamp']);
    expect(codes({ ...ev, timestamp: '2025-02-30T00:00:00Z' })).toEqual(['ONEX_VALID_105 timestamp']);
    expect(codes({ ...ev, timestamp: 'yesterday' })).toEqual(['ONEX_VALID_105 timestamp']);
    expect(codes({ ...ev, timestamp: 1748182641 })).toEqual(['ONEX_VALID_104 timestamp']);
    expect(codes({ ...ev, timestamp: '2025-05-25T14:17:21+00:00' })).toEqual([]);
  });

  it('knows the event types of each version', () => {
    expect(codes({ ...base, event_type: 'NODE_ANNOUNCE' })).toEqual(['ONEX_VALID_106 event_type']);
    expect(codes({ ...base, schema_version: '1.1.0', event_type: 'NODE_ANNOUNCE' })).toEqual([]);
    expect(codes({ ...base, schema_version: '1.2.0', event_type: 'PERFORMANCE_PROFILE', metadata: { operation: 'o', duration_ms: 1 } })).toEqual([
      'ONEX_VALID_106 event_type',
    ]);
    expect(codes({ ...base, event_type: 'UNKNOWN' })).toEqual(['ONEX_VALID_106 event_type']);
  });

  it('strict mode throws the first violation as a ValidationError carrying all of them', () => {
    const bad = { ...base, node_id: '', event_type: 'NO_SUCH_TYPE' };
    let thrown: unknown;
    try {
      validateEvent(bad);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    const err = thrown as ValidationError;
    expect(err.code).toBe('ONEX_VALID_105');
    expect(err.message).toBe('node_id must not be empty.');
    expect((err.details?.violations as unknown[]).length).toBe(2);
  });

  it('enforceValidation is the one meaning of the modes: strict throws what validateEvent throws, non-strict returns', () => {
    const bad = { ...base, node_id: '', event_type: 'NO_SUCH_TYPE' };
    const result = validateEvent(bad, { mode: 'non-strict' });
    expect(enforceValidation(result, 'non-strict')).toBe(result);
    const thrown = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err as ValidationError;
      }
      throw new Error('did not throw');
    };
    const direct = thrown(() => validateEvent(bad));
    const decided = thrown(() => enforceValidation(result, 'strict'));
    expect(decided).toBeInstanceOf(ValidationError);
    expect([decided.code, decided.message, decided.details]).toEqual([direct.code, direct.message, direct.details]);
    expect(decided.details?.violations).toEqual([
      { code: 'ONEX_VALID_105', path: 'node_id', message: 'node_id must not be empty.' },
      expect.objectContaining({ code: 'ONEX_VALID_106', path: 'event_type' }),
    ]);
    const good = validateEvent({ ...base, event_type: 'NODE_START', metadata: { input_state: {} } });
    expect(enforceValidation(good, 'strict')).toBe(good);
  });

  it('non-strict mode returns every violation as a typed error and lets the caller go on', () => {
    const r = validateEvent({ ...base, node_id: '', event_type: 'NO_SUCH_TYPE' }, { mode: 'non-strict' });
    expect(r.valid).toBe(false);
    expect(r.errors.every((e) => e instanceof ValidationError)).toBe(true);
    expect(r.errors.map((e) => e.code)).toEqual(['ONEX_VALID_105', 'ONEX_VALID_106']);
  });

  it('flags fields the stated version does not have, and versions it does not know', () => {
    expect(codes({ ...base, event_type: 'STRUCTURED_LOG', trace_id: 'abc' })).toEqual(['ONEX_VALID_107 trace_id']);
    expect(codes({ ...base, event_type: 'STRUCTURED_LOG', schema_version: '2.0.0', trace_id: 'abc' })).toEqual(['ONEX_VALID_107 trace_id']);
    expect(codes({ ...base, event_type: 'STRUCTURED_LOG', schema_version: '9.0.0' })).toEqual(['ONEX_VALID_107 schema_version']);
    expect(codes({ ...base, event_type: 'STRUCTURED_LOG', schema_version: 'one' })).toEqual(['ONEX_VALID_107 schema_version']);
    expect(codes({ ...base, event_type: 'STRUCTURED_LOG', schema_version: 1.1 })).toEqual(['ONEX_VALID_104 schema_version']);
    // a PATCH or a newer MINOR of a known major is checked as the version it is read as
    expect(validateEvent({ ...base, event_type: 'STRUCTURED_LOG', schema_version: '1.3.4' }).version).toBe('1.3.0');
    expect(validateEvent({ ...base, event_type: 'STRUCTURED_LOG', schema_version: '1.9.0', brand_new: 1 }).version).toBe('1.3.0');
  });

  it('checks the 1.1+ envelope fields', () => {
    const ev = { ...base, schema_version: '1.3.0', event_type: 'STRUCTURED_LOG' };
    expect(codes({ ...ev, error_code: 'E42' })).toEqual(['ONEX_VALID_105 error_code']);
    expect(codes({ ...ev, sample_rate: 0 })).toEqual(['ONEX_VALID_105 sample_rate']);
    expect(codes({ ...ev, sample_rate: 1.5 })).toEqual(['ONEX_VALID_105 sample_rate']);
    expect(codes({ ...ev, sample_rate: '1' })).toEqual(['ONEX_VALID_104 sample_rate']);
    expect(codes({ ...ev, replay: { original_event_id: 'x', replayed_at: 'y', speed: 0 } })).toEqual([
      'ONEX_VALID_105 replay.original_event_id',
      'ONEX_VALID_105 replay.replayed_at',
      'ONEX_VALID_105 replay.speed',
    ]);
  });

  it('checks the 2.0.0 trace, error and security records', () => {
    const ev = { ...base, schema_version: '2.0.0', event_type: 'STRUCTURED_LOG' };
    expect(codes({ ...ev, trace: { trace_id: '' } })).toEqual(['ONEX_VALID_103 trace.trace_id']);
    expect(codes({ ...ev, trace: { trace_id: 'a', trace_flags: 300 } })).toEqual(['ONEX_VALID_105 trace.trace_flags']);
    expect(codes({ ...ev, error: { code: 'ONEX_EVENT_602', severity: 'FATAL' } })).toEqual(['ONEX_VALID_106 error.severity']);
    expect(codes({ ...ev, error: {} })).toEqual(['ONEX_VALID_103 error.code']);
    expect(codes({ ...ev, security: { key_id: 'k', algorithm: '', encrypted_fields: [1] } })).toEqual([
      'ONEX_VALID_103 security.algorithm',
      'ONEX_VALID_104 security.encrypted_fields',
    ]);
  });
});

describe('validateEvent: metadata standards', () => {
  const required: Record<TypedEventType, string[]> = Object.fromEntries(
    Object.entries(METADATA_RULES).map(([t, r]) => [t, Object.keys(r.required)]),
  ) as Record<TypedEventType, string[]>;

  for (const [type, keys] of Object.entries(required)) {
    it(`${type}: each required metadata key missing is an ONEX_VALID_103 at its path`, () => {
      expect(codes({ ...base, schema_version: '1.3.0', event_type: type, metadata: {} })).toEqual(keys.map((k) => `ONEX_VALID_103 metadata.${k}`));
      expect(codes({ ...base, schema_version: '1.3.0', event_type: type })).toEqual(keys.map((k) => `ONEX_VALID_103 metadata.${k}`));
    });
  }

  it('rejects wrong metadata types and broken literals', () => {
    const ev = { ...base, event_type: 'TELEMETRY_OPERATION_SUCCESS' };
    expect(codes({ ...ev, metadata: { operation: 'op', function: 'f', execution_time_ms: '12' } })).toEqual(['ONEX_VALID_104 metadata.execution_time_ms']);
    expect(codes({ ...ev, metadata: { operation: 'op', function: 'f', execution_time_ms: 1, success: false } })).toEqual(['ONEX_VALID_105 metadata.success']);
    expect(codes({ ...ev, metadata: { operation: 'op', function: 'f', execution_time_ms: 1, success: 'yes' } })).toEqual(['ONEX_VALID_104 metadata.success']);
    expect(codes({ ...base, event_type: 'NODE_START', metadata: { input_state: [] } })).toEqual(['ONEX_VALID_104 metadata.input_state']);
    expect(codes({ ...base, event_type: 'TELEMETRY_OPERATION_START', metadata: { operation: 'o', function: 'f', args_count: 1.5, kwargs_keys: ['a', 2] } })).toEqual([
      'ONEX_VALID_104 metadata.args_count',
      'ONEX_VALID_104 metadata.kwargs_keys',
    ]);
    expect(codes({ ...base, event_type: 'STRUCTURED_LOG', metadata: [1, 2] })).toEqual(['ONEX_VALID_104 metadata']);
    // null stands for "absent" on optional keys
    expect(codes({ ...base, event_type: 'NODE_START', metadata: { input_state: {}, node_version: null } })).toEqual([]);
  });

  it('allows nesting depth 10 and refuses 11 (the metadata object is level 1)', () => {
    const ev = { ...base, event_type: 'STRUCTURED_LOG' };
    expect(codes({ ...ev, metadata: nested(10) })).toEqual([]);
    expect(codes({ ...ev, metadata: nested(11) })).toEqual(['ONEX_VALID_105 metadata']);
    expect(codes({ ...ev, metadata: { list: [[[[[[[[[[1]]]]]]]]]] } })).toEqual(['ONEX_VALID_105 metadata']);
    expect(codes({ ...ev, metadata: nested(6) }, { maxDepth: 5 })).toEqual(['ONEX_VALID_105 metadata']);
  });

  it('stops at the depth limit on a cyclic value instead of looping', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codes({ ...base, event_type: 'STRUCTURED_LOG', metadata: cyclic })).toEqual(['ONEX_VALID_105 metadata']);
  });

  it('limits a state object to 100 KB serialised, and the whole metadata to under 1 MB', () => {
    const ev = { ...base, event_type: 'NODE_START' };
    const state = (bytes: number) => ({ s: 'x'.repeat(bytes - 8) }); // {"s":"..."} is 8 bytes of JSON around the text
    expect(codes({ ...ev, metadata: { input_state: state(100 * 1024) } })).toEqual([]);
    expect(codes({ ...ev, metadata: { input_state: state(100 * 1024 + 1) } })).toEqual(['ONEX_VALID_105 metadata.input_state']);
    const wide = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`part${i}`, 'y'.repeat(99 * 1024)]));
    expect(codes({ ...ev, metadata: { input_state: {}, ...wide } })).toEqual(['ONEX_VALID_105 metadata']);
    const r = validateEvent({ ...ev, metadata: { input_state: state(100 * 1024 + 1) } }, { mode: 'non-strict' });
    expect(r.errors[0]!.message).toBe('metadata.input_state is 100.0 KB serialised, over the 100.0 KB limit.');
  });

  it('sizes the whole metadata as JSON.stringify does, from its values sized once (escapes, unicode keys, undefined members)', () => {
    const ev = { ...base, event_type: 'STRUCTURED_LOG' };
    const limit = 1024 * 1024;
    // Just under and at the 1 MB limit, with keys and values whose JSON differs from their text.
    const make = (pad: number) => ({ 'k"é€': 'q"\\\n😀'.repeat(1000), skipped: undefined, big: ['x'.repeat(90 * 1024)], ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, 'z'.repeat(90 * 1024)])), last: 'w'.repeat(pad) });
    const sizeOf = (m: object) => Buffer.byteLength(JSON.stringify(m), 'utf8');
    const pad = limit - 1 - sizeOf(make(0));
    expect(sizeOf(make(pad))).toBe(limit - 1);
    expect(codes({ ...ev, metadata: make(pad) })).toEqual([]);
    expect(codes({ ...ev, metadata: make(pad + 1) })).toEqual(['ONEX_VALID_105 metadata']);
    const r = validateEvent({ ...ev, metadata: make(pad + 1) }, { mode: 'non-strict' });
    expect(r.errors.map((e) => e.message)).toEqual(['metadata is 1.0 MB serialised; it must stay under 1.0 MB.']);
  });

  it('refuses values JSON cannot carry', () => {
    const ev = { ...base, event_type: 'STRUCTURED_LOG' };
    expect(codes({ ...ev, metadata: { n: Number.NaN } })).toEqual(['ONEX_VALID_104 metadata.n']);
    expect(codes({ ...ev, metadata: { when: new Date(0) } })).toEqual(['ONEX_VALID_104 metadata.when']);
    expect(codes({ ...ev, metadata: { f: () => 1 } })).toEqual(['ONEX_VALID_104 metadata.f']);
    expect(codes({ ...ev, metadata: { big: 10n } })).toEqual(['ONEX_VALID_104 metadata.big']);
    expect(codes({ ...ev, metadata: { list: [1, undefined] } })).toEqual(['ONEX_VALID_104 metadata.list[1]']);
    expect(codes({ ...ev, metadata: { skipped: undefined } })).toEqual([]);
  });

  it('validates 2.0.0 typed metadata with the same standards', () => {
    const v2 = { ...base, schema_version: '2.0.0', event_type: 'NODE_SUCCESS' };
    expect(codes({ ...v2, metadata: { input_state: {}, output_state: {}, execution_time_ms: 3, extra: { note: 'x' } } })).toEqual([]);
    expect(codes({ ...v2, metadata: { input_state: {}, execution_time_ms: 'slow' } })).toEqual([
      'ONEX_VALID_103 metadata.output_state',
      'ONEX_VALID_104 metadata.execution_time_ms',
    ]);
    expect(codes({ ...v2, metadata: { input_state: {}, output_state: {}, note: 'x' } })).toEqual(['ONEX_VALID_105 metadata.note']);
    expect(codes({ ...v2, metadata: { input_state: {}, output_state: {}, extra: 'x' } })).toEqual(['ONEX_VALID_104 metadata.extra']);
    // untyped metadata on a typed event type still has to meet the standard
    expect(codes({ ...v2, metadata: { untyped: { input_state: {} } } })).toEqual(['ONEX_VALID_103 metadata.untyped.output_state']);
    // event types without a standard carry { untyped }
    expect(codes({ ...v2, event_type: 'STRUCTURED_LOG', metadata: { msg: 'hi' } })).toEqual(['ONEX_VALID_104 metadata']);
    expect(codes({ ...v2, event_type: 'STRUCTURED_LOG', metadata: { untyped: { msg: 'hi' } } })).toEqual([]);
  });

  it('accepts what the 1.x -> 2.0.0 upcast produces from a valid event', () => {
    const v1 = { ...base, event_type: 'NODE_FAILURE', metadata: { input_state: { a: 1 }, error: 'boom', custom: true } };
    expect(validateEvent(v1).valid).toBe(true);
    expect(validateEvent(transformEvent(v1, '2.0.0')).valid).toBe(true);
  });

  it('validateMetadata checks one metadata object alone', () => {
    expect(validateMetadata('NODE_START', { input_state: {} }).valid).toBe(true);
    expect(() => validateMetadata('NODE_START', {})).toThrow(ValidationError);
    expect(validateMetadata('NODE_START', {}, { mode: 'non-strict' }).errors.map((e) => e.code)).toEqual(['ONEX_VALID_103']);
  });
});

describe('validateDecodedEvent: what is left to check after the schema decoder', () => {
  const report = (r: { errors: ReadonlyArray<{ code: string; message: string; details?: Record<string, unknown> }> }) =>
    r.errors.map((e) => `${e.code} ${String(e.details?.path)}: ${e.message}`);
  /** Encodes with the schema of `version` and decodes it again: the event as the worker's decoder hands it over. */
  const roundTrip = (event: Record<string, unknown>, version: SchemaVersion) => decodeEvent(encodeEvent(event, version), version) as unknown as Record<string, unknown>;
  const agree = (decoded: Record<string, unknown>, version: SchemaVersion, limits?: Partial<typeof DEFAULT_LIMITS>) => {
    const full = report(validateEvent(decoded, { mode: 'non-strict', limits }));
    expect(report(validateDecodedEvent(decoded, version, { mode: 'non-strict', limits }))).toEqual(full);
    return full;
  };

  it('gives the same answer as validateEvent for valid decoded events of every version', () => {
    const r = rng(3);
    for (const version of SCHEMA_VERSIONS) {
      for (let i = 0; i < 60; i++) {
        expect(agree(roundTrip(generateEvent(r, version, { targetBytes: i % 3 === 0 ? 1024 : undefined }), version), version)).toEqual([]);
      }
    }
  });

  it('gives the same ONEX_VALID codes, paths and messages for events that break what a schema cannot say', () => {
    const v2 = (overrides: Record<string, unknown>, type = 'NODE_START') => ({
      ...base,
      event_type: type,
      schema_version: '2.0.0',
      sample_rate: 1,
      metadata: { input_state: { file: 'a.py' } },
      ...overrides,
    });
    const cases: Array<[string, Record<string, unknown>, string[]]> = [
      ['event_id not a UUID', v2({ event_id: 'not-a-uuid' }), ['ONEX_VALID_105 event_id']],
      ['empty node_id', v2({ node_id: '  ' }), ['ONEX_VALID_105 node_id']],
      ['sample_rate out of range', v2({ sample_rate: 2 }), ['ONEX_VALID_105 sample_rate']],
      ['trace flags and id', v2({ trace: { trace_id: '', span_id: null, trace_flags: 300 } }), ['ONEX_VALID_103 trace.trace_id', 'ONEX_VALID_105 trace.trace_flags']],
      ['error code format', v2({ error: { code: 'boom', severity: null, recoverable: null } }), ['ONEX_VALID_105 error.code']],
      ['security ids', v2({ security: { key_id: '', algorithm: 'ed25519', signature: null, encrypted_fields: [] } }), ['ONEX_VALID_103 security.key_id']],
      ['replay speed', v2({ replay: { original_event_id: base.event_id, replayed_at: base.timestamp, speed: -1, replay_id: null } }), ['ONEX_VALID_105 replay.speed']],
      ['input_state not an object', v2({ metadata: { input_state: [1, 2] } }), ['ONEX_VALID_104 metadata.input_state']],
      ['a standard field of the wrong type in extra', v2({ metadata: { input_state: {}, extra: { node_version: 5 } } }), ['ONEX_VALID_104 metadata.node_version']],
      ['a standard field left null and given in extra', v2({ metadata: { input_state: {}, node_version: null, extra: { node_version: '1.2' } } }), []],
      ['a pinned literal', v2({ metadata: { operation: 'op', function: 'f', execution_time_ms: 1, success: false } }, 'TELEMETRY_OPERATION_SUCCESS'), ['ONEX_VALID_105 metadata.success']],
      ['untyped metadata missing the standard', v2({ metadata: { untyped: { note: 1 } } }), ['ONEX_VALID_103 metadata.untyped.input_state']],
      ['metadata too deep', v2({ metadata: { input_state: nested(10) } }), ['ONEX_VALID_105 metadata']],
      ['a state object over 100 KB', v2({ metadata: { input_state: { blob: 'x'.repeat(101 * 1024) } } }), ['ONEX_VALID_105 metadata.input_state']],
      ['1.x: error_code format', { ...base, event_type: 'NODE_FAILURE', schema_version: '1.1.0', error_code: 'E1', metadata: { input_state: {}, error: 'x' } }, ['ONEX_VALID_105 error_code']],
      ['1.x: metadata not an object', { ...base, event_type: 'NODE_START', metadata: 'text' }, ['ONEX_VALID_104 metadata']],
    ];
    for (const [what, event, expected] of cases) {
      const version = event.schema_version === undefined ? '1.0.0' : (event.schema_version as SchemaVersion);
      const paths = agree(roundTrip(event, version), version).map((line) => line.split(':')[0]);
      expect(paths, what).toEqual(expected);
    }
  });

  it('agrees with validateEvent on 1.x events upcast to 2.0.0 on decode, at and over the limits', () => {
    const upcast = createDecoder('1.0.0', '2.0.0');
    const v1 = (type: string, metadata: unknown) => ({ ...base, event_type: type, metadata });
    const cases: Array<[string, Record<string, unknown>, string[]]> = [
      ['depth 10, the limit', v1('NODE_START', { input_state: nested(9) }), []],
      ['depth 11', v1('NODE_START', { input_state: nested(10) }), ['ONEX_VALID_105 metadata']],
      ['braces inside strings only', v1('NODE_START', { input_state: { text: '{'.repeat(40) } }), []],
      ['a state of 100 KB less a little', v1('NODE_START', { input_state: { blob: 'x'.repeat(100 * 1024 - 20) } }), []],
      ['a state over 100 KB', v1('NODE_START', { input_state: { blob: 'x'.repeat(101 * 1024) } }), ['ONEX_VALID_105 metadata.input_state']],
      ['untyped metadata over 100 KB in one value', v1('STRUCTURED_LOG', { note: 'é'.repeat(60 * 1024) }), ['ONEX_VALID_105 metadata.untyped.note']],
      ['the standard missing', v1('NODE_SUCCESS', { input_state: {} }), ['ONEX_VALID_103 metadata.untyped.output_state']],
    ];
    for (const [what, event, expected] of cases) {
      const decoded = upcast(encodeEvent(event, '1.0.0')) as unknown as Record<string, unknown>;
      const paths = agree(decoded, '2.0.0').map((line) => line.split(':')[0]);
      expect(paths, what).toEqual(expected);
    }
  });

  it('honours limits given by the caller', () => {
    const decoded = roundTrip({ ...base, event_type: 'NODE_START', metadata: { input_state: { blob: 'x'.repeat(2000) } } }, '1.0.0');
    expect(agree(decoded, '1.0.0', { maxValueBytes: 1000 }).map((line) => line.split(':')[0])).toEqual(['ONEX_VALID_105 metadata.input_state']);
  });

  it('typed metadata the schema could not produce takes the long way to the same answers', () => {
    const v2 = { ...base, event_type: 'NODE_SUCCESS', schema_version: '2.0.0', sample_rate: 1 };
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ output_state: {}, input_state: null, extra: { input_state: 'text' } }, ['ONEX_VALID_104 metadata.input_state']],
      [{ input_state: {}, output_state: {}, operation: 'op' }, ['ONEX_VALID_105 metadata.operation']],
      [{ input_state: {}, output_state: {}, extra: 'x' }, ['ONEX_VALID_104 metadata.extra']],
      [{ input_state: { n: Number.NaN }, output_state: {} }, ['ONEX_VALID_104 metadata.input_state.n']],
    ];
    for (const [metadata, expected] of cases) {
      const event = { ...v2, metadata };
      expect(report(validateDecodedEvent(event, '2.0.0', { mode: 'non-strict' }))).toEqual(report(validateEvent(event, { mode: 'non-strict' })));
      expect(report(validateEvent(event, { mode: 'non-strict' })).map((line) => line.split(':')[0])).toEqual(expected);
    }
  });

  it('passes an event type no version knows (the reader-side UNKNOWN), which validateEvent refuses of a producer', () => {
    const event = roundTrip({ ...base, event_type: 'NODE_START', schema_version: '2.0.0', sample_rate: 1, metadata: { input_state: {} } }, '2.0.0');
    for (const type of ['UNKNOWN', 'A_TYPE_OF_A_NEWER_WRITER']) {
      const unknown = { ...event, event_type: type };
      expect(validateDecodedEvent(unknown, '2.0.0').valid).toBe(true);
      expect(validateEvent(unknown, { mode: 'non-strict' }).errors.map((e) => e.code)).toEqual(['ONEX_VALID_106']);
    }
    // A type of a later version than the decoder's is still one the decoder's version does not have.
    expect(validateDecodedEvent({ ...event, schema_version: undefined, event_type: 'NODE_ANNOUNCE' }, '1.0.0', { mode: 'non-strict' }).errors.map((e) => e.details?.path)).toContain('event_type');
  });

  it('still reports type errors when a decoder hands over an event its schema would not allow', () => {
    const loose = { ...base, event_type: 'NODE_START', schema_version: '2.0.0', node_id: 7, sample_rate: 1, metadata: { input_state: {} } };
    expect(validateDecodedEvent(loose, '2.0.0', { mode: 'non-strict' }).errors.map((e) => e.code)).toEqual(['ONEX_VALID_104']);
    expect(() => validateDecodedEvent(loose, '2.0.0')).toThrow(ValidationError);
  });
});

describe('isUuid', () => {
  const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  it('agrees with the 8-4-4-4-12 hex pattern on UUIDs and near misses of every kind', () => {
    const r = rng(7);
    const pick = (s: string) => s[Math.floor(r() * s.length)]!;
    const candidates = ['', '-'.repeat(36), '00000000-0000-0000-0000-00000000000g', 'A0B1C2D3-E4F5-A6B7-C8D9-EAFBFCFDFEFF'];
    for (let i = 0; i < 3000; i++) {
      const chars = Array.from({ length: 36 }, (_, j) => ([8, 13, 18, 23].includes(j) ? '-' : pick('0123456789abcdefABCDEF')));
      const at = Math.floor(r() * 36);
      const change = i % 5;
      if (change === 1) chars[at] = pick('0aF-gG:/ é\u0660'); // a wrong or misplaced character, non-ASCII digits too
      if (change === 2) chars.splice(at, 1);
      if (change === 3) chars.splice(at, 0, pick('0a-'));
      candidates.push(chars.join(''));
    }
    const disagreements = candidates.filter((c) => isUuid(c) !== UUID_PATTERN.test(c));
    expect(disagreements).toEqual([]);
    expect(candidates.filter((c) => isUuid(c)).length).toBeGreaterThan(600); // the unchanged fifth, at least
    expect(candidates.filter((c) => !isUuid(c)).length).toBeGreaterThan(1500);
  });
});
