import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CT, memoryRegistry, userNoDefault, userV1, userV2 } from './helpers.js';

type Registry = Awaited<ReturnType<typeof memoryRegistry>>;
let reg: Registry;

beforeEach(async () => {
  reg = await memoryRegistry();
});
afterEach(async () => {
  await reg.close();
});

describe('subjects and versions', () => {
  it('registers, answers the same id for the same schema and adds no version', async () => {
    const first = await reg.register('users-value', userV1);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe(CT);
    expect(first.body).toEqual({ id: 1 });
    // Same schema, other formatting: canonicalised before comparison.
    const again = await reg.register('users-value', JSON.stringify(userV1, null, 4));
    expect(again.body).toEqual({ id: 1 });
    expect((await reg.call('GET', '/subjects/users-value/versions')).body).toEqual([1]);
  });

  it('hands out ids that are global across subjects, reusing the id of an identical schema', async () => {
    const a = (await reg.register('a-value', userV1)).body.id;
    const b = (await reg.register('b-value', { type: 'string' })).body.id;
    const c = (await reg.register('c-value', userV1)).body.id;
    expect(a).not.toBe(b);
    expect(c).toBe(a);
    expect((await reg.call('GET', `/schemas/ids/${a}/versions`)).body).toEqual([
      { subject: 'a-value', version: 1 },
      { subject: 'c-value', version: 1 },
    ]);
    expect((await reg.call('GET', `/schemas/ids/${a}/subjects`)).body).toEqual(['a-value', 'c-value']);
  });

  it('answers versions by number and latest in Confluent shapes', async () => {
    await reg.register('s', userV1);
    await reg.register('s', userV2);
    const latest = await reg.call('GET', '/subjects/s/versions/latest');
    expect(Object.keys(latest.body)).toEqual(['subject', 'version', 'id', 'schema']);
    expect(latest.body).toMatchObject({ subject: 's', version: 2, id: 2 });
    expect(JSON.parse(latest.body.schema).fields).toHaveLength(2);
    expect((await reg.call('GET', '/subjects/s/versions/-1')).body.version).toBe(2);
    expect((await reg.call('GET', '/subjects/s/versions/1')).body.id).toBe(1);
    const raw = await reg.call('GET', '/subjects/s/versions/1/schema');
    expect(raw.body).toEqual(JSON.parse(latest.body.schema.replace(',{"name":"age","type":"int","default":0}', '')));
    expect((await reg.call('GET', '/subjects')).body).toEqual(['s']);
    const byId = await reg.call('GET', '/schemas/ids/2');
    expect(byId.body).toEqual({ schema: latest.body.schema });
    expect((await reg.call('GET', '/schemas/ids/2/schema')).body).toEqual(JSON.parse(latest.body.schema));
    expect((await reg.call('GET', '/schemas/types')).body).toEqual(['AVRO']);
    const all = await reg.call('GET', '/schemas?latestOnly=true');
    expect(all.body.map((s: { version: number }) => s.version)).toEqual([2]);
  });

  it.each(['0', '-2', 'abc', '1.5', '2147483648', 'latestx'])('answers 42202 for the bad version %s', async (v) => {
    await reg.register('s', userV1);
    const res = await reg.call('GET', `/subjects/s/versions/${v}`);
    expect(res.status).toBe(422);
    expect(res.body.error_code).toBe(42202);
    expect(res.body.message).toContain(`'${v}' is not a valid version id`);
  });

  it('reads a query parameter given twice by its first value (found by the REST fuzzer: it was a 500)', async () => {
    await reg.register('s', userV1);
    await reg.call('DELETE', '/subjects/s/versions/1');
    expect((await reg.call('GET', '/subjects/s/versions?deleted=true&deleted=false')).body).toEqual([1]);
    const firstFalse = await reg.call('GET', '/subjects/s/versions?deleted=false&deleted=true');
    expect(firstFalse.status).toBe(404);
    expect(firstFalse.body.error_code).toBe(40401);
  });

  it('answers 40401, 40402 and 40403 for what does not exist', async () => {
    await reg.register('s', userV1);
    expect((await reg.call('GET', '/subjects/nope/versions')).body).toEqual({
      error_code: 40401,
      message: "Subject 'nope' not found.",
    });
    expect((await reg.call('GET', '/subjects/nope/versions/1')).body.error_code).toBe(40401);
    const v = await reg.call('GET', '/subjects/s/versions/7');
    expect(v.status).toBe(404);
    expect(v.body).toEqual({ error_code: 40402, message: 'Version 7 not found.' });
    expect((await reg.call('GET', '/schemas/ids/99')).body).toEqual({ error_code: 40403, message: 'Schema 99 not found' });
    expect((await reg.call('GET', '/schemas/ids/x')).body.error_code).toBe(40403);
    expect((await reg.call('GET', '/no/such/route')).body).toEqual({ error_code: 404, message: 'HTTP 404 Not Found' });
    const wrongMethod = await reg.call('PUT', '/subjects/s/versions/1', {});
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body).toEqual({ error_code: 405, message: 'HTTP 405 Method Not Allowed' });
  });

  it('looks a schema up under a subject', async () => {
    await reg.register('s', userV1);
    const found = await reg.call('POST', '/subjects/s', { schema: JSON.stringify(userV1) });
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ subject: 's', version: 1, id: 1 });
    const other = await reg.call('POST', '/subjects/s', { schema: '"string"' });
    expect(other.body).toEqual({ error_code: 40403, message: 'Schema not found' });
    expect((await reg.call('POST', '/subjects/none', { schema: '"string"' })).body.error_code).toBe(40401);
    expect((await reg.call('POST', '/subjects/s', { schema: '{bad' })).body.error_code).toBe(42201);
  });

  it('ignores request fields it does not know (metadata, ruleSet)', async () => {
    const res = await reg.register('s', userV1, { metadata: { properties: { owner: 'x' } }, ruleSet: { domainRules: [] }, extra: 1 });
    expect(res.body).toEqual({ id: 1 });
  });

  it('handles schema references', async () => {
    const address = { type: 'record', name: 'Address', namespace: 'com.acme', fields: [{ name: 'street', type: 'string' }] };
    const person = { type: 'record', name: 'Person', namespace: 'com.acme', fields: [{ name: 'home', type: 'Address' }] };
    const refId = (await reg.register('address', address)).body.id;
    expect((await reg.register('person', person)).body.error_code).toBe(42201);
    const references = [{ name: 'com.acme.Address', subject: 'address', version: 1 }];
    const missing = await reg.register('person', person, { references: [{ ...references[0], version: 9 }] });
    expect(missing.body.error_code).toBe(42201);
    const personId = (await reg.register('person', person, { references })).body.id;
    expect(personId).not.toBe(refId);
    expect((await reg.call('GET', `/schemas/ids/${personId}`)).body.references).toEqual(references);
    expect((await reg.call('GET', '/subjects/person/versions/1')).body.references).toEqual(references);
    expect((await reg.call('GET', '/subjects/address/versions/1/referencedby')).body).toEqual([personId]);
    const del = await reg.call('DELETE', '/subjects/address/versions/1');
    expect(del.status).toBe(422);
    expect(del.body.error_code).toBe(42206);
  });
});

describe('deletes', () => {
  it('soft-deletes and permanently deletes versions with Confluent codes', async () => {
    await reg.register('s', userV1);
    await reg.register('s', userV2);
    expect((await reg.call('DELETE', '/subjects/s/versions/2?permanent=true')).body.error_code).toBe(40407);
    expect((await reg.call('DELETE', '/subjects/s/versions/2')).body).toBe(2);
    expect((await reg.call('GET', '/subjects/s/versions')).body).toEqual([1]);
    expect((await reg.call('GET', '/subjects/s/versions?deleted=true')).body).toEqual([1, 2]);
    expect((await reg.call('GET', '/subjects/s/versions/2')).body.error_code).toBe(40402);
    expect((await reg.call('GET', '/subjects/s/versions/2?deleted=true')).body.version).toBe(2);
    // A soft-deleted schema still resolves by id: consumers may hold records written with it.
    expect((await reg.call('GET', '/schemas/ids/2')).status).toBe(200);
    expect((await reg.call('DELETE', '/subjects/s/versions/2')).body.error_code).toBe(40406);
    expect((await reg.call('DELETE', '/subjects/s/versions/2?permanent=true')).body).toBe(2);
    expect((await reg.call('GET', '/schemas/ids/2')).body.error_code).toBe(40403);
    expect((await reg.call('DELETE', '/subjects/s/versions/5')).body.error_code).toBe(40402);
    expect((await reg.call('DELETE', '/subjects/s/versions/zero')).body.error_code).toBe(42202);
    expect((await reg.call('DELETE', '/subjects/none/versions/1')).body.error_code).toBe(40401);
  });

  it('soft-deletes and permanently deletes subjects', async () => {
    await reg.register('s', userV1);
    await reg.register('s', userV2);
    await reg.call('PUT', '/config/s', { compatibility: 'NONE' });
    expect((await reg.call('DELETE', '/subjects/s?permanent=true')).body.error_code).toBe(40405);
    expect((await reg.call('DELETE', '/subjects/s')).body).toEqual([1, 2]);
    expect((await reg.call('GET', '/subjects')).body).toEqual([]);
    expect((await reg.call('GET', '/subjects?deleted=true')).body).toEqual(['s']);
    expect((await reg.call('GET', '/subjects?deletedOnly=true')).body).toEqual(['s']);
    expect((await reg.call('DELETE', '/subjects/s')).body.error_code).toBe(40404);
    expect((await reg.call('GET', '/subjects/s/versions')).body.error_code).toBe(40401);
    expect((await reg.call('DELETE', '/subjects/s?permanent=true')).body).toEqual([1, 2]);
    expect((await reg.call('GET', '/subjects?deleted=true')).body).toEqual([]);
    expect((await reg.call('GET', '/config/s')).body.error_code).toBe(40408);
    expect((await reg.call('DELETE', '/subjects/s')).body.error_code).toBe(40401);
  });

  it('never reuses an id, even after the newest schema was permanently deleted', async () => {
    await reg.register('s', userV1);
    await reg.register('t', { type: 'string' });
    await reg.call('DELETE', '/subjects/t');
    await reg.call('DELETE', '/subjects/t?permanent=true');
    expect((await reg.register('u', { type: 'int' })).body.id).toBe(3);
  });

  it('gives a re-registered schema a new version after a soft delete, with its old id', async () => {
    await reg.register('s', userV1);
    await reg.call('DELETE', '/subjects/s');
    const again = await reg.register('s', userV1);
    expect(again.body.id).toBe(1);
    expect((await reg.call('GET', '/subjects/s/versions')).body).toEqual([2]);
  });
});

describe('config and mode', () => {
  it('reads and changes the global and subject compatibility levels', async () => {
    expect((await reg.call('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
    expect((await reg.call('PUT', '/config', { compatibility: 'full_transitive' })).body).toEqual({
      compatibility: 'FULL_TRANSITIVE',
    });
    expect((await reg.call('GET', '/config')).body).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
    const notSet = await reg.call('GET', '/config/s');
    expect(notSet.status).toBe(404);
    expect(notSet.body).toEqual({ error_code: 40408, message: "Subject 's' does not have subject-level compatibility configured" });
    expect((await reg.call('GET', '/config/s?defaultToGlobal=true')).body).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
    expect((await reg.call('PUT', '/config/s', { compatibility: 'NONE' })).body).toEqual({ compatibility: 'NONE' });
    expect((await reg.call('GET', '/config/s')).body).toEqual({ compatibilityLevel: 'NONE' });
    expect((await reg.call('DELETE', '/config/s')).body).toEqual({ compatibilityLevel: 'NONE' });
    expect((await reg.call('DELETE', '/config')).body).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
    expect((await reg.call('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
  });

  it.each([{ compatibility: 'SIDEWAYS' }, { compatibility: 3 }, {}, null])('answers 42203 for the level %j', async (body) => {
    const res = await reg.call('PUT', '/config', body === null ? '' : body);
    expect(res.status).toBe(422);
    expect(res.body.error_code).toBe(42203);
  });

  it('refuses writes in READONLY mode with 42205 and keeps serving reads', async () => {
    await reg.register('s', userV1);
    expect((await reg.call('PUT', '/mode', { mode: 'READONLY' })).body).toEqual({ mode: 'READONLY' });
    expect((await reg.call('GET', '/mode')).body).toEqual({ mode: 'READONLY' });
    const refused = await reg.register('s', userV2);
    expect(refused.status).toBe(422);
    expect(refused.body).toEqual({ error_code: 42205, message: 'Subject s is in read-only mode' });
    expect((await reg.call('DELETE', '/subjects/s')).body.error_code).toBe(42205);
    expect((await reg.call('GET', '/schemas/ids/1')).status).toBe(200);
    expect((await reg.call('PUT', '/mode', { mode: 'SOMETIMES' })).body.error_code).toBe(42204);
    await reg.call('PUT', '/mode', { mode: 'READWRITE' });
    await reg.call('PUT', '/mode/s', { mode: 'READONLY' });
    expect((await reg.call('GET', '/mode/s')).body).toEqual({ mode: 'READONLY' });
    expect((await reg.register('s', userV2)).body.error_code).toBe(42205);
    expect((await reg.register('other', userV2)).status).toBe(200);
    expect((await reg.call('DELETE', '/mode/s')).body).toEqual({ mode: 'READONLY' });
    expect((await reg.call('GET', '/mode/s')).body.error_code).toBe(40409);
    expect((await reg.register('s', userV2)).status).toBe(200);
  });
});

describe('bad input', () => {
  it('answers invalid JSON with 400, never 500', async () => {
    const res = await reg.call('POST', '/subjects/s/versions', '{"schema": ');
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe(400);
  });

  it.each([
    ['invalid Avro', { schema: '{"type":"record","name":"R","fields":[{"name":"a","type":"nope"}]}' }],
    ['schema not a string', { schema: { type: 'string' } }],
    ['no schema', { schemaType: 'AVRO' }],
    ['JSON schema type', { schema: '{"type":"object"}', schemaType: 'JSON' }],
    ['Protobuf schema type', { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }],
    ['bad references', { schema: '"string"', references: 'x' }],
    ['a list instead of an object', [1, 2]],
  ])('answers 42201 for %s', async (_why, body) => {
    const res = await reg.call('POST', '/subjects/s/versions', body);
    expect(res.status).toBe(422);
    expect(res.body.error_code).toBe(42201);
  });

  it('answers an unsupported media type with 415 and an oversized body with 413', async () => {
    const plain = await reg.call('POST', '/subjects/s/versions', '{"schema":"\\"string\\""}', { 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    expect(plain.body.error_code).toBe(415);
    const small = await memoryRegistry({ bodyLimit: 1024 });
    const big = await small.register('s', { type: 'record', name: 'R', doc: 'x'.repeat(4096), fields: [] });
    expect(big.status).toBe(413);
    expect(big.body.error_code).toBe(413);
    await small.close();
  });

  it('accepts every request content type Confluent accepts, and none at all', async () => {
    for (const type of ['application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json', 'application/json', 'application/octet-stream']) {
      const res = await reg.call('POST', '/subjects/s/versions', { schema: '"string"' }, { 'content-type': type });
      expect(res.body).toEqual({ id: 1 });
    }
    const res = await reg.server.app.inject({ method: 'POST', url: '/subjects/s/versions', payload: '{"schema":"\\"string\\""}' });
    expect(JSON.parse(res.body)).toEqual({ id: 1 });
  });

  it('answers 42208 for a subject name with control characters', async () => {
    const res = await reg.register('bad\u0001name', userV1);
    expect(res.body.error_code).toBe(42208);
  });
});

describe('compatibility', () => {
  it('rejects an incompatible schema with 409 under the default BACKWARD level', async () => {
    await reg.register('s', userV1);
    const res = await reg.register('s', userNoDefault);
    expect(res.status).toBe(409);
    expect(res.body.error_code).toBe(409);
    expect(res.body.message).toMatch(/^Schema being registered is incompatible with an earlier schema for subject "s", details: \[/);
    expect(res.body.message).toContain('{oldSchemaVersion: 1}');
    expect(res.body.message).toContain("{compatibility: 'BACKWARD'}");
    expect((await reg.register('s', userV2)).status).toBe(200);
  });

  it('accepts anything under NONE', async () => {
    await reg.call('PUT', '/config/s', { compatibility: 'NONE' });
    await reg.register('s', userV1);
    expect((await reg.register('s', { type: 'int' })).body.id).toBe(2);
  });

  it('tests compatibility with verbose reasons, against latest, a version, or all', async () => {
    const free = await reg.call('POST', '/compatibility/subjects/none/versions/latest', { schema: JSON.stringify(userV1) });
    expect(free.body).toEqual({ is_compatible: true });
    await reg.register('s', userV1);
    const ok = await reg.call('POST', '/compatibility/subjects/s/versions/latest', { schema: JSON.stringify(userV2) });
    expect(ok.body).toEqual({ is_compatible: true });
    const bad = await reg.call('POST', '/compatibility/subjects/s/versions/1?verbose=true', { schema: JSON.stringify(userNoDefault) });
    expect(bad.body.is_compatible).toBe(false);
    expect(bad.body.messages.length).toBeGreaterThan(1);
    expect(bad.body.messages.some((m: string) => m.includes('email'))).toBe(true);
    const quiet = await reg.call('POST', '/compatibility/subjects/s/versions', { schema: JSON.stringify(userNoDefault) });
    expect(quiet.body).toEqual({ is_compatible: false });
    expect((await reg.call('POST', '/compatibility/subjects/s/versions/9', { schema: '"int"' })).body.error_code).toBe(40402);
    expect((await reg.call('POST', '/compatibility/subjects/s/versions/0', { schema: '"int"' })).body.error_code).toBe(42202);
    expect((await reg.call('POST', '/compatibility/subjects/s/versions/latest', { schema: '{' })).body.error_code).toBe(42201);
  });

  it('checks every earlier version under transitive levels, only the latest otherwise', async () => {
    const v1 = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] };
    const v2 = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }, { name: 'b', type: 'int', default: 0 }] };
    // v3 drops `a` and gives `b` no default: readers of v3 can read v2 data (b present) but not v1 data (b missing).
    const v3 = { type: 'record', name: 'R', fields: [{ name: 'b', type: 'int' }] };
    await reg.call('PUT', '/config/s', { compatibility: 'BACKWARD' });
    await reg.register('s', v1);
    await reg.register('s', v2);
    const plain = await reg.call('POST', '/compatibility/subjects/s/versions/latest', { schema: JSON.stringify(v3) });
    expect(plain.body.is_compatible).toBe(true);
    await reg.call('PUT', '/config/s', { compatibility: 'BACKWARD_TRANSITIVE' });
    const transitive = await reg.call('POST', '/compatibility/subjects/s/versions?verbose=true', { schema: JSON.stringify(v3) });
    expect(transitive.body.is_compatible).toBe(false);
    expect(transitive.body.messages).toContain('{oldSchemaVersion: 1}');
    expect((await reg.register('s', v3)).status).toBe(409);
    // A named version is the one schema compared, whatever the level (Confluent's semantics), latest included.
    for (const version of ['2', 'latest']) {
      const one = await reg.call('POST', `/compatibility/subjects/s/versions/${version}`, { schema: JSON.stringify(v3) });
      expect(one.body).toEqual({ is_compatible: true });
    }
    const first = await reg.call('POST', '/compatibility/subjects/s/versions/1?verbose=true', { schema: JSON.stringify(v3) });
    expect(first.body.is_compatible).toBe(false);
    expect(first.body.messages).toContain("{compatibility: 'BACKWARD_TRANSITIVE'}");
  });
});

describe('security and metrics', () => {
  it('requires basic auth for every request when the scope is all', async () => {
    const secured = await memoryRegistry({ auth: { users: { alice: 's3cret' }, scope: 'all' } });
    const none = await secured.call('GET', '/subjects');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error_code: 401, message: 'Unauthorized' });
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm=/);
    const wrong = await secured.call('GET', '/subjects', undefined, { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` });
    expect(wrong.status).toBe(401);
    const right = await secured.call('GET', '/subjects', undefined, { authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` });
    expect(right.status).toBe(200);
    await secured.close();
  });

  it('requires basic auth for writes only when the scope is writes', async () => {
    const secured = await memoryRegistry({ auth: { users: { alice: 's3cret' }, scope: 'writes' } });
    expect((await secured.call('GET', '/subjects')).status).toBe(200);
    expect((await secured.register('s', userV1)).status).toBe(401);
    const auth = { authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` };
    const ok = await secured.call('POST', '/subjects/s/versions', { schema: JSON.stringify(userV1) }, auth);
    expect(ok.body).toEqual({ id: 1 });
    await secured.close();
  });

  it('exposes request counts by route and status and a latency histogram', async () => {
    await reg.register('s', userV1);
    await reg.call('GET', '/schemas/ids/1');
    await reg.call('GET', '/schemas/ids/42');
    const metrics = await reg.call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/onex_registry_http_requests_total\{method="GET",route="\/schemas\/ids\/:id",status="200"\} 1/);
    expect(metrics.text).toMatch(/onex_registry_http_requests_total\{method="GET",route="\/schemas\/ids\/:id",status="404"\} 1/);
    expect(metrics.text).toMatch(/onex_registry_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/subjects\/:subject\/versions"\}/);
    expect(metrics.text).toMatch(/onex_registry_schemas 1/);
  });
});
