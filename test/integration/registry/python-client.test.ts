import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../src/registry/client.js';
import { uniqueTopic } from '../../support/kafka.js';
import { ensureConfluentKafkaPython } from '../../support/python.js';
import { startKafkaRegistry, type LiveRegistry } from './helpers.js';

// Confluent's Python client (confluent-kafka from PyPI): SchemaRegistryClient, AvroSerializer and AvroDeserializer
// against our server on a real broker; the script prints what it got back and this test checks it.

const SCRIPT = fileURLToPath(new URL('../../fixtures/registry/python_roundtrip.py', import.meta.url));
const run = promisify(execFile);

let live: LiveRegistry;
let out: Record<string, any>;

beforeAll(async () => {
  const python = await ensureConfluentKafkaPython();
  live = await startKafkaRegistry(uniqueTopic('registry-python'));
  const { stdout } = await run(python, [SCRIPT], {
    env: { ...process.env, REGISTRY_URL: live.url, PYTHONWARNINGS: 'ignore' },
    timeout: 120_000,
  });
  out = JSON.parse(stdout);
}, 900_000);
afterAll(async () => {
  await live?.close();
});

describe("confluent-kafka (Python) against our registry", () => {
  it('round-trips a record through AvroSerializer and AvroDeserializer', () => {
    expect(out.roundtrip).toEqual({ id: 'p-1', cents: 1250 });
    expect(out.wire_hex.slice(0, 2)).toBe('00');
    expect(out.wire_id).toBe(out.lookup_v1.schema_id);
    // Old data read with the evolved reader schema: the union default fills the new field.
    expect(out.as_v2).toEqual({ id: 'p-1', cents: 1250, note: null });
  });

  it('answers SchemaRegistryClient calls: register, latest, lookup, versions, subjects, schema by id', () => {
    expect(out.v2_id).not.toBe(out.wire_id);
    expect(out.latest).toEqual({ version: 2, schema_id: out.v2_id, subject: 'payments-value' });
    expect(out.lookup_v1).toEqual({ version: 1, schema_id: out.wire_id });
    expect(out.versions).toEqual([1, 2]);
    expect(out.subjects).toContain('payments-value');
    expect(out.schema_by_id.fields.map((f: { name: string }) => f.name)).toEqual(['id', 'cents']);
  });

  it('answers compatibility and config calls', () => {
    expect(out.compatible_broken).toBe(false);
    expect(out.compatible_v2).toBe(true);
    expect(out.global_level).toBe('BACKWARD');
    expect(out.set_level).toEqual({ compatibility: 'FULL' });
    expect(out.subject_level).toBe('FULL');
    expect(out.deleted_soft).toEqual([1]);
    expect(out.deleted_hard).toEqual([1]);
  });

  it('gives the Python client Confluent error codes it can branch on', () => {
    expect(out.err_unknown_id).toEqual({ http_status: 404, error_code: 40403, message: 'Schema 987654 not found' });
    expect(out.err_incompatible).toMatchObject({ http_status: 409, error_code: 409 });
    expect(out.err_incompatible.message).toContain('{oldSchemaVersion: 2}');
    expect(out.err_invalid).toMatchObject({ http_status: 422, error_code: 42201 });
    expect(out.err_unknown_subject).toEqual({ http_status: 404, error_code: 40401, message: "Subject 'no-such-subject' not found." });
  });

  it('lets our client decode what the Python serializer wrote', async () => {
    const client = new RegistryClient({ url: live.url });
    const decoded = await client.decode(Buffer.from(out.wire_hex, 'hex'));
    expect(decoded).toEqual({ schemaId: out.wire_id, value: { id: 'p-1', cents: 1250 } });
    const v2 = (await client.getSchema(out.v2_id)).type as avro.Type;
    const upgraded = await client.decode(Buffer.from(out.wire_hex, 'hex'), v2);
    expect(upgraded.value).toEqual({ id: 'p-1', cents: 1250, note: null });
  });
});
