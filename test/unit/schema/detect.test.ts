import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSIONS } from '../../../src/event/index.js';
import { createDecoder, detectEventVersion, detectVersion, loadSchema, schemaText } from '../../../src/schema/index.js';
import { errorCode } from './support.js';

const clone = <T>(v: T): T => structuredClone(v);

describe('detectEventVersion from a raw JSON event', () => {
  it('takes schema_version; none means 1.0.0', () => {
    expect(detectEventVersion({ event_type: 'NODE_START' })).toBe('1.0.0');
    expect(detectEventVersion({ schema_version: null })).toBe('1.0.0');
    for (const v of SCHEMA_VERSIONS) expect(detectEventVersion({ schema_version: v })).toBe(v);
  });

  it('reads a PATCH as its MINOR and a newer MINOR as our newest MINOR of that major', () => {
    expect(detectVersion({ schema_version: '1.2.7' })).toEqual({ version: '1.2.0', declared: '1.2.7', exact: true, by: 'field' });
    expect(detectVersion({ schema_version: '1.9.0' })).toEqual({ version: '1.3.0', declared: '1.9.0', exact: false, by: 'field' });
    expect(detectVersion({ schema_version: '2.4.1' })).toMatchObject({ version: '2.0.0', exact: false });
  });

  it('refuses a newer major with ONEX_SCHEMA_701 and nonsense with ONEX_SCHEMA_704', () => {
    expect(errorCode(() => detectEventVersion({ schema_version: '3.0.0' }))).toBe('ONEX_SCHEMA_701');
    expect(errorCode(() => detectEventVersion({ schema_version: '0.9.0' }))).toBe('ONEX_SCHEMA_704');
    expect(errorCode(() => detectEventVersion({ schema_version: 'v1' }))).toBe('ONEX_SCHEMA_704');
    expect(errorCode(() => detectEventVersion({ schema_version: 1 }))).toBe('ONEX_SCHEMA_704');
  });
});

describe('detectEventVersion from a writer schema', () => {
  it('knows every shipped schema by its fingerprint', () => {
    for (const v of SCHEMA_VERSIONS) {
      expect(detectVersion({ schema: loadSchema(v) })).toEqual({ version: v, declared: v, exact: true, by: 'fingerprint' });
      expect(detectEventVersion({ schema: schemaText(v) })).toBe(v);
    }
  });

  it('still knows a shipped schema whose docs and attributes a registry dropped', () => {
    const stripped = clone(loadSchema('1.2.0')) as Record<string, unknown>;
    delete stripped['onex.version'];
    delete stripped.doc;
    expect(detectVersion({ schema: stripped })).toMatchObject({ version: '1.2.0', by: 'fingerprint' });
  });

  it('trusts the structure over an attribute that contradicts it', () => {
    const relabelled = { ...clone(loadSchema('1.1.0')), 'onex.version': '1.3.0' };
    expect(detectEventVersion({ schema: relabelled })).toBe('1.1.0');
  });

  it('falls back to the onex.version attribute for schemas it does not ship', () => {
    const edited = clone(loadSchema('1.2.0')) as { fields: unknown[] };
    edited.fields.push({ name: 'note', type: ['null', 'string'], default: null });
    expect(detectVersion({ schema: edited })).toMatchObject({ version: '1.2.0', by: 'attribute' });
    const newerMinor = { ...clone(edited), 'onex.version': '1.5.0' };
    expect(detectVersion({ schema: newerMinor })).toMatchObject({ version: '1.3.0', declared: '1.5.0', exact: false });
    const newerMajor = { ...clone(edited), 'onex.version': '3.1.0' };
    expect(errorCode(() => detectEventVersion({ schema: newerMajor }))).toBe('ONEX_SCHEMA_701');
  });

  it('refuses a schema that is none of ours and names no version', () => {
    expect(errorCode(() => detectEventVersion({ schema: { type: 'record', name: 'Other', fields: [] } }))).toBe('ONEX_SCHEMA_704');
  });

  it('looks a schema id up, and says so when the id is unknown', () => {
    const byId = new Map<number, object>([[11, loadSchema('1.1.0')]]);
    expect(detectEventVersion({ schemaId: 11, lookup: (id: number) => byId.get(id) })).toBe('1.1.0');
    expect(errorCode(() => detectEventVersion({ schemaId: 12, lookup: (id: number) => byId.get(id) }))).toBe('ONEX_EVENT_605');
  });

  it('never takes the version from a reader-side default', () => {
    // A 1.1.0 producer that wrote schema_version "1.0.0" (the field default) still produced 1.1.0 bytes.
    const writer = avro.Type.forSchema(loadSchema('1.1.0') as avro.Schema);
    const bytes = writer.toBuffer({
      event_id: '00000000-0000-4000-8000-000000000002',
      timestamp: 0,
      node_id: 'n',
      event_type: 'NODE_ANNOUNCE',
      correlation_id: null,
      metadata: null,
      schema_version: '1.0.0',
      error_code: 'ONEX_RT_404',
      parent_correlation_id: null,
      trace_id: null,
    });
    expect(detectEventVersion({ schema: loadSchema('1.1.0') })).toBe('1.1.0');
    const event = createDecoder(loadSchema('1.1.0'), '1.2.0')(bytes);
    expect(event).toMatchObject({ schema_version: '1.2.0', event_type: 'NODE_ANNOUNCE', error_code: 'ONEX_RT_404' });
    // and 1.0.0 bytes read by a 1.2.0 reader are called 1.2.0 after the upcast, not the default "1.0.0"
    const old = avro.Type.forSchema(loadSchema('1.0.0') as avro.Schema).toBuffer({
      event_id: '00000000-0000-4000-8000-000000000003',
      timestamp: 0,
      node_id: 'n',
      event_type: 'NODE_START',
      correlation_id: null,
      metadata: '{"input_state":{}}',
    });
    expect(createDecoder('1.0.0', '1.2.0')(old).schema_version).toBe('1.2.0');
  });
});
