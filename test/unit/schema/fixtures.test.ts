import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, FIELDS_SINCE, majorOf, SCHEMA_VERSIONS, type SchemaVersion } from '../../../src/event/index.js';
import { decodeAs, decodeEvent, detectEventVersion, encodeEvent, loadSchema, transformEvent } from '../../../src/schema/index.js';
import type { EventFixture } from '../../fixtures/events/make-fixtures.js';
import { errorCode, plain } from './support.js';

/**
 * Backward compatibility: the bytes every version wrote decode with every newer reader. Forward compatibility:
 * within a major, older readers decode what newer writers wrote. Across the major, the chain bridges both ways.
 */
const fixtures = Object.fromEntries(
  SCHEMA_VERSIONS.map((v) => [v, JSON.parse(readFileSync(new URL(`../../fixtures/events/v${v}.json`, import.meta.url), 'utf8')) as EventFixture[]]),
) as Record<SchemaVersion, EventFixture[]>;

const DEFAULTS: Record<string, unknown> = { error_code: null, parent_correlation_id: null, trace_id: null, sample_rate: 1, replay: null };
const has = (version: SchemaVersion, field: string) => !FIELDS_SINCE[field] || version >= FIELDS_SINCE[field]!;

describe('fixtures', () => {
  for (const version of SCHEMA_VERSIONS) {
    it(`${version}: has one event per event type of the version`, () => {
      const names = fixtures[version].map((f) => f.name);
      for (const type of EVENT_TYPES[version]) expect(names).toContain(type);
    });

    it(`${version}: the schema still writes the stored bytes (the .avsc did not change)`, () => {
      for (const f of fixtures[version]) expect(encodeEvent(f.event, version).toString('base64'), f.name).toBe(f.avro);
    });

    it(`${version}: decodes to the stored event`, () => {
      for (const f of fixtures[version]) {
        const decoded = plain(decodeEvent(Buffer.from(f.avro, 'base64'), version));
        expect(decoded, f.name).toMatchObject(f.event);
      }
    });
  }
});

describe('backward compatibility: every newer reader reads every older writer', () => {
  for (const writer of SCHEMA_VERSIONS) {
    for (const reader of SCHEMA_VERSIONS.filter((v) => v > writer && majorOf(v) === majorOf(writer))) {
      it(`${writer} bytes -> ${reader} reader (Avro resolution)`, () => {
        for (const f of fixtures[writer]) {
          const got = plain(decodeAs(writer, Buffer.from(f.avro, 'base64'), reader));
          for (const [key, value] of Object.entries(f.event)) {
            if (key === 'schema_version') continue;
            expect(got[key], `${f.name}.${key}`).toEqual(value);
          }
          for (const [key, value] of Object.entries(DEFAULTS)) {
            if (has(reader, key) && !has(writer, key)) expect(got[key], `${f.name}.${key} default`).toEqual(value);
          }
          expect(got.schema_version).toBe(reader);
          expect(detectEventVersion(got)).toBe(reader);
        }
      });
    }
    if (majorOf(writer) === 1) {
      it(`${writer} bytes -> 2.0.0 reader (resolution, then the MAJOR transform)`, () => {
        for (const f of fixtures[writer]) {
          const got = decodeAs(writer, Buffer.from(f.avro, 'base64'), '2.0.0');
          expect(plain(got)).toEqual(plain(transformEvent(f.event, '2.0.0')));
          expect(got.schema_version).toBe('2.0.0');
        }
      });
    }
  }
});

describe('forward compatibility: older readers read newer writers of the same major', () => {
  for (const writer of SCHEMA_VERSIONS) {
    for (const reader of SCHEMA_VERSIONS.filter((v) => v < writer && majorOf(v) === majorOf(writer))) {
      it(`${writer} bytes -> ${reader} reader`, () => {
        for (const f of fixtures[writer]) {
          const got = plain(decodeAs(writer, Buffer.from(f.avro, 'base64'), reader));
          const known = (EVENT_TYPES[reader] as readonly string[]).includes(f.event.event_type as string);
          expect(got.event_type, f.name).toBe(known ? f.event.event_type : 'UNKNOWN');
          for (const [key, value] of Object.entries(f.event)) {
            if (key === 'schema_version' || key === 'event_type') continue;
            if (has(reader, key)) expect(got[key], `${f.name}.${key}`).toEqual(value);
            else expect(got, `${f.name} has no ${key} in ${reader}`).not.toHaveProperty(key);
          }
        }
      });
    }
  }

  it('2.0.0 bytes reach every 1.x reader through the downcast', () => {
    for (const reader of SCHEMA_VERSIONS.filter((v) => majorOf(v) === 1)) {
      for (const f of fixtures['2.0.0']) {
        const got = decodeAs('2.0.0', Buffer.from(f.avro, 'base64'), reader);
        expect(plain(got)).toEqual(plain(transformEvent(f.event, reader)));
      }
    }
  });

  it('a future MINOR (1.4.0: a new field, a new event type) is read by a 1.3.0 reader', () => {
    const v13 = loadSchema('1.3.0') as { fields: Record<string, unknown>[] };
    const future = structuredClone(v13) as unknown as { fields: Record<string, unknown>[]; 'onex.version': string };
    future['onex.version'] = '1.4.0';
    future.fields.push({ name: 'priority', type: 'int', default: 0 });
    const eventType = future.fields.find((f) => f.name === 'event_type')!.type as { symbols: string[] };
    eventType.symbols.push('NODE_HIBERNATE');
    const writer = avro.Type.forSchema(future as unknown as avro.Schema);
    const bytes = writer.toBuffer({
      event_id: '00000000-0000-4000-8000-000000000001',
      timestamp: 1748182641178483,
      node_id: 'n_node-1',
      event_type: 'NODE_HIBERNATE',
      correlation_id: null,
      metadata: '{"sleep":true}',
      schema_version: '1.4.0',
      error_code: null,
      parent_correlation_id: null,
      trace_id: null,
      sample_rate: 1,
      replay: null,
      priority: 7,
    });
    expect(detectEventVersion({ schema: future })).toBe('1.3.0');
    const got = decodeAs(future, bytes, '1.3.0');
    expect(plain(got)).toEqual({
      event_id: '00000000-0000-4000-8000-000000000001',
      timestamp: '2025-05-25T14:17:21.178483Z',
      node_id: 'n_node-1',
      event_type: 'UNKNOWN',
      correlation_id: null,
      metadata: { sleep: true },
      schema_version: '1.3.0',
      error_code: null,
      parent_correlation_id: null,
      trace_id: null,
      sample_rate: 1,
      replay: null,
    });
    // and, through the chain, by a 2.0.0 reader
    expect(decodeAs(future, bytes, '2.0.0').metadata).toEqual({ untyped: { sleep: true } });
  });

  it('an unknown newer MAJOR is refused with ONEX_SCHEMA_701, never mis-read', () => {
    const v3 = { ...(loadSchema('2.0.0') as object), 'onex.version': '3.0.0', doc: 'a future major' } as Record<string, unknown>;
    v3.fields = [...(v3.fields as unknown[]), { name: 'x', type: 'int', default: 0 }];
    expect(errorCode(() => decodeAs(v3, Buffer.alloc(10), '2.0.0'))).toBe('ONEX_SCHEMA_701');
    expect(errorCode(() => detectEventVersion({ schema: v3 }))).toBe('ONEX_SCHEMA_701');
    expect(errorCode(() => transformEvent({ ...fixtures['2.0.0'][0]!.event, schema_version: '3.0.0' }, '2.0.0'))).toBe('ONEX_SCHEMA_701');
  });
});
