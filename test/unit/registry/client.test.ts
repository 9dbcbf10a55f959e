import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOnexError } from '../../../src/errors/index.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { MemoryStore } from '../../../src/registry/memory-store.js';
import { createRegistryServer, type RegistryServer } from '../../../src/registry/server.js';
import { userNoDefault, userV1, userV2 } from './helpers.js';

let server: RegistryServer;
let url: string;

beforeAll(async () => {
  server = createRegistryServer({ store: new MemoryStore() });
  url = await server.listen(0, '127.0.0.1');
});
afterAll(async () => {
  await server.close();
});

/** A server on 127.0.0.1 that answers from a script, counting requests. */
async function scripted(answers: Array<[number, unknown]>): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const http: Server = createServer((req, res) => {
    const [status, body] = answers[Math.min(hits, answers.length - 1)]!;
    hits++;
    req.resume();
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, close: () => new Promise((r) => http.close(() => r())) };
}

async function onexFailure(call: Promise<unknown>) {
  try {
    await call;
  } catch (err) {
    if (isOnexError(err)) return err;
    throw err;
  }
  throw new Error('expected an OnexError');
}

describe('RegistryClient', () => {
  it('registers, caches the id per subject and canonical form, and encodes/decodes the wire format', async () => {
    const client = new RegistryClient({ url });
    const id = await client.register('c-value', userV1);
    expect(await client.register('c-value', JSON.stringify(userV1, null, 2))).toBe(id);
    const bytes = await client.encode(id, { name: 'ada' });
    expect([...bytes.subarray(0, 5)]).toEqual([0, 0, 0, 0, id]);
    expect(await new RegistryClient({ url }).decode(bytes)).toEqual({ schemaId: id, value: { name: 'ada' } });
    const reader = avro.Type.forSchema(userV2 as avro.Schema);
    expect((await client.decode(bytes, reader)).value).toEqual({ name: 'ada', age: 0 });
    expect((await client.getLatest('c-value')).id).toBe(id);
    expect((await client.lookup('c-value', userV1)).version).toBe(1);
    expect(await client.getCompatibility('c-value')).toBe('BACKWARD');
  });

  it('fetches a schema once per id, however many callers ask at the same time', async () => {
    const id = await new RegistryClient({ url }).register('once-value', { type: 'string' });
    const fake = await scripted([[200, { schema: '"string"' }]]);
    const client = new RegistryClient({ url: fake.url });
    await Promise.all(Array.from({ length: 20 }, () => client.getSchema(id)));
    await client.getSchema(id);
    expect(fake.hits()).toBe(1);
    await fake.close();
  });

  it('fails with ONEX codes: 207 incompatible, 200 not found, 208 refused, EVENT_604/605 on bad messages', async () => {
    const client = new RegistryClient({ url });
    await client.register('strict-value', userV1);
    const incompatible = await onexFailure(client.register('strict-value', userNoDefault));
    expect(incompatible.code).toBe('ONEX_REG_207');
    expect(incompatible.details).toMatchObject({ status: 409, errorCode: 409 });
    expect((await onexFailure(client.getSchema(4242))).code).toBe('ONEX_REG_200');
    const invalid = await onexFailure(client.register('x-value', '{"type":"nope"}'));
    expect(invalid.code).toBe('ONEX_REG_208');
    expect(invalid.message).toMatch(/HTTP 422, error_code 42201/);
    expect((await onexFailure(client.decode(Buffer.from([1, 2, 3])))).code).toBe('ONEX_EVENT_604');
    expect((await onexFailure(client.decode(Buffer.from([0, 0, 0, 0x7f, 0, 1])))).code).toBe('ONEX_EVENT_605');
    const compat = await client.testCompatibility('strict-value', userNoDefault);
    expect(compat.compatible).toBe(false);
    expect(compat.messages.join(' ')).toContain('email');
  });

  it('retries 5xx with backoff and then succeeds', async () => {
    const fake = await scripted([
      [500, { error_code: 50001, message: 'store down' }],
      [503, { error_code: 50002, message: 'timeout' }],
      [200, { id: 7 }],
    ]);
    const client = new RegistryClient({ url: fake.url, retries: 3, backoffMs: 5 });
    expect(await client.register('r-value', '"string"')).toBe(7);
    expect(fake.hits()).toBe(3);
    await fake.close();
  });

  it('gives up on a registry that keeps failing with ONEX_REG_206 (retriable) and never retries a 4xx', async () => {
    const failing = await scripted([[500, { error_code: 50001, message: 'store down' }]]);
    const err = await onexFailure(new RegistryClient({ url: failing.url, retries: 2, backoffMs: 5 }).getSchema(1));
    expect(err.code).toBe('ONEX_REG_206');
    expect(err.retriable).toBe(true);
    expect(failing.hits()).toBe(3);
    await failing.close();

    const refusing = await scripted([[422, { error_code: 42201, message: 'Invalid schema' }]]);
    await onexFailure(new RegistryClient({ url: refusing.url, retries: 5, backoffMs: 5 }).register('s', '"int"'));
    expect(refusing.hits()).toBe(1);
    await refusing.close();

    const nobody = await onexFailure(new RegistryClient({ url: 'http://127.0.0.1:1', retries: 1, backoffMs: 5 }).getSchema(1));
    expect(nobody.code).toBe('ONEX_REG_206');
  });

  it('rejects a URL that is not http(s) at construction', () => {
    expect(() => new RegistryClient({ url: 'ftp://x' })).toThrow(/http or https/);
    expect(() => new RegistryClient({ url: 'not a url' })).toThrow(/not a URL/);
  });
});
