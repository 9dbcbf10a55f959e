import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderGenerated } from '../../../scripts/gen-schema-tables.js';
import { EVENT_TYPES, FIELDS_SINCE, FIELDS_UNTIL, SCHEMA_VERSIONS } from '../../../src/event/index.js';

// src/event/generated/ is rendered from avro/ by scripts/gen-schema-tables.ts; the committed files must be what it
// renders now, so a schema change without `npm run gen:schema` fails here.

const scratch = mkdtempSync(join(tmpdir(), 'onex-gen-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the tables and types generated from avro/', () => {
  it('are current', () => {
    for (const [path, text] of renderGenerated()) {
      expect(readFileSync(path, 'utf8'), `${path} is stale: run npm run gen:schema`).toBe(text);
    }
  });

  it('follow a schema change: a new field, a new event type, a new version', () => {
    const avro = join(scratch, 'avro');
    cpSync(new URL('../../../avro', import.meta.url), avro, { recursive: true });
    const v2 = JSON.parse(readFileSync(join(avro, 'onex-event', 'v2.0.0.avsc'), 'utf8'));
    v2['onex.version'] = '2.1.0';
    v2.fields.push({ name: 'tenant', type: ['null', 'string'], default: null, doc: 'Tenant of the emitting node.' });
    v2.fields.find((f: { name: string }) => f.name === 'event_type').type.symbols.push('NODE_RETIRED');
    writeFileSync(join(avro, 'onex-event', 'v2.1.0.avsc'), JSON.stringify(v2));
    const [tables, types] = [...renderGenerated(avro).values()];
    expect(tables).toContain("export type SchemaVersion = '1.0.0' | '1.1.0' | '1.2.0' | '1.3.0' | '2.0.0' | '2.1.0';");
    expect(tables).toContain("  tenant: '2.1.0',");
    expect(types).toContain('export interface OnexEventRecordV2_1 {');
    expect(types).toContain('  /** Tenant of the emitting node. */\n  tenant?: string | null;');
    expect(types).toMatch(/export type EventTypeV2_1 =[^;]*\| 'NODE_RETIRED';/);
  });

  it('refuse a named type that changes meaning between versions', () => {
    const avro = join(scratch, 'avro-clash');
    cpSync(new URL('../../../avro', import.meta.url), avro, { recursive: true });
    const path = join(avro, 'onex-event', 'v2.0.0.avsc');
    const v2 = JSON.parse(readFileSync(path, 'utf8'));
    const replay = v2.fields.find((f: { name: string }) => f.name === 'replay').type[1];
    replay.fields.push({ name: 'extra_speed', type: 'double', default: 1 });
    writeFileSync(path, JSON.stringify(v2));
    expect(() => renderGenerated(avro)).toThrow(/ReplayMarker differs from an earlier version's/);
  });

  it('are what the event module uses', () => {
    expect(SCHEMA_VERSIONS).toEqual(['1.0.0', '1.1.0', '1.2.0', '1.3.0', '2.0.0']);
    expect(EVENT_TYPES['1.1.0']).toEqual([...EVENT_TYPES['1.0.0'], 'NODE_ANNOUNCE', 'NODE_ANNOUNCE_ACCEPTED', 'NODE_ANNOUNCE_REJECTED']);
    expect(FIELDS_SINCE.sample_rate).toBe('1.2.0');
    expect(FIELDS_UNTIL).toEqual({ error_code: '2.0.0', trace_id: '2.0.0' });
  });
});
