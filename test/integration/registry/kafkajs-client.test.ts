import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueTopic } from '../../support/kafka.js';
import { avroRecord, startKafkaRegistry, type LiveRegistry } from './helpers.js';

// @kafkajs/confluent-schema-registry, unchanged, against our server on a real broker.

const v1 = avroRecord('Order', [
  { name: 'id', type: 'string' },
  { name: 'amount', type: 'double' },
]);
const v2 = avroRecord('Order', [
  { name: 'id', type: 'string' },
  { name: 'amount', type: 'double' },
  { name: 'currency', type: 'string', default: 'EUR' },
]);
const incompatible = avroRecord('Order', [{ name: 'id', type: 'long' }]);
const avroOf = (schema: object) => ({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }) as const;

type ClientError = Error & { status?: number };

/** The error a call fails with; a call that succeeds fails the test. */
async function failure(call: Promise<unknown>): Promise<ClientError> {
  try {
    await call;
  } catch (err) {
    return err as ClientError;
  }
  throw new Error('expected the call to fail');
}

let live: LiveRegistry;
let registry: SchemaRegistry;

beforeAll(async () => {
  live = await startKafkaRegistry(uniqueTopic('registry-kafkajs'));
  registry = new SchemaRegistry({ host: live.url });
});
afterAll(async () => {
  await live?.close();
});

describe('@kafkajs/confluent-schema-registry against our registry', () => {
  it('registers with the default BACKWARD level, evolves, encodes and decodes', async () => {
    const subject = 'orders-value';
    const { id: id1 } = await registry.register(avroOf(v1), { subject });
    // The library sets the subject's level on first registration: the server must have stored it.
    const config = await fetch(`${live.url}/config/${subject}`).then((r) => r.json());
    expect(config).toEqual({ compatibilityLevel: 'BACKWARD' });
    expect((await registry.register(avroOf(v1), { subject })).id).toBe(id1);
    const { id: id2 } = await registry.register(avroOf(v2), { subject });
    expect(id2).not.toBe(id1);
    expect(await registry.getLatestSchemaId(subject)).toBe(id2);
    // Looked up by a differently formatted copy of v1: the server compares canonical forms.
    expect(await registry.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: JSON.stringify(v1, null, 2) })).toBe(id1);

    const order = { id: 'o-1', amount: 12.5 };
    const encoded = await registry.encode(id1, order);
    expect(encoded[0]).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(id1);
    // A fresh client has nothing cached: decode fetches the writer schema by id from the server.
    const fresh = new SchemaRegistry({ host: live.url });
    expect(await fresh.decode(encoded)).toEqual(order);
    // Old data read with the new schema: the default fills the new field.
    const readerSchema = avro.Type.forSchema(v2 as avro.Schema);
    expect(await fresh.decode(encoded, { [SchemaType.AVRO]: { readerSchema } })).toEqual({ ...order, currency: 'EUR' });
  });

  it('surfaces the server error messages: incompatible schema, unknown schema, unknown subject, unknown id', async () => {
    const subject = 'orders-strict-value';
    await registry.register(avroOf(v1), { subject });
    const refused = await failure(registry.register(avroOf(incompatible), { subject }));
    expect(refused.status).toBe(409);
    expect(refused.message).toMatch(
      /^Confluent_Schema_Registry - Schema being registered is incompatible with an earlier schema for subject "orders-strict-value", details: \[/,
    );

    const other = avroOf(avroRecord('Other', [{ name: 'x', type: 'int' }]));
    const unknownSchema = await failure(registry.getRegistryIdBySchema(subject, other));
    expect(unknownSchema.name).toBe('ConfluentSchemaRegistryError');
    expect(unknownSchema.message).toBe('Confluent_Schema_Registry - Schema not found');

    const unknownSubject = await failure(registry.getLatestSchemaId('no-such-subject'));
    expect(unknownSubject.status).toBe(404);
    expect(unknownSubject.message).toBe("Confluent_Schema_Registry - Subject 'no-such-subject' not found.");

    const unknownId = await failure(new SchemaRegistry({ host: live.url }).getSchema(987654));
    expect(unknownId.message).toBe('Confluent_Schema_Registry - Schema 987654 not found');
  });

  it('registers under NONE, where anything goes, and refuses a level that differs from the subject', async () => {
    const subject = 'orders-free-value';
    const first = await registry.register(avroOf(v1), { subject, compatibility: COMPATIBILITY.NONE });
    const second = await registry.register(avroOf(incompatible), { subject, compatibility: COMPATIBILITY.NONE });
    expect(second.id).not.toBe(first.id);
    expect(await registry.getLatestSchemaId(subject)).toBe(second.id);
    const mismatch = await failure(registry.register(avroOf(v2), { subject, compatibility: COMPATIBILITY.FULL }));
    expect(mismatch.name).toBe('ConfluentSchemaRegistryCompatibilityError');
    expect(mismatch.message).toBe('Compatibility does not match the configuration (FULL != NONE)');
  });

  it('registers under FORWARD_TRANSITIVE and FULL, sharing ids across subjects', async () => {
    const fwd = await registry.register(avroOf(v1), { subject: 'orders-fwd-value', compatibility: COMPATIBILITY.FORWARD_TRANSITIVE });
    const full = await registry.register(avroOf(v1), { subject: 'orders-full-value', compatibility: COMPATIBILITY.FULL });
    expect(full.id).toBe(fwd.id);
    const evolved = await registry.register(avroOf(v2), { subject: 'orders-full-value', compatibility: COMPATIBILITY.FULL });
    expect(evolved.id).not.toBe(full.id);
    const refused = await failure(registry.register(avroOf(incompatible), { subject: 'orders-full-value', compatibility: COMPATIBILITY.FULL }));
    expect(refused.status).toBe(409);
  });
});
