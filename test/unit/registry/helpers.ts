import { MemoryStore } from '../../../src/registry/memory-store.js';
import { createRegistryServer, type RegistryServerOptions } from '../../../src/registry/server.js';

export const CT = 'application/vnd.schemaregistry.v1+json';

export interface Answer {
  status: number;
  body: any;
  headers: Record<string, unknown>;
  text: string;
}

/** A registry over an in-memory store, driven through fastify's inject (no sockets). */
export async function memoryRegistry(options: Partial<RegistryServerOptions> = {}) {
  const server = createRegistryServer({ store: new MemoryStore(), ...options });
  await server.app.ready();
  async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await server.app.inject({
      method: method as 'GET',
      url,
      payload,
      headers: payload === undefined ? headers : { 'content-type': CT, ...headers },
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = res.body;
    }
    return { status: res.statusCode, body: parsed, headers: res.headers, text: res.body };
  }
  const register = (subject: string, schema: unknown, extra: Record<string, unknown> = {}) =>
    call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
      schema: typeof schema === 'string' ? schema : JSON.stringify(schema),
      ...extra,
    });
  return { server, call, register, close: () => server.close() };
}

export const userV1 = {
  type: 'record',
  name: 'User',
  namespace: 'com.acme',
  fields: [{ name: 'name', type: 'string' }],
};
export const userV2 = {
  ...userV1,
  fields: [...userV1.fields, { name: 'age', type: 'int', default: 0 }],
};
/** Adds a field without a default: new readers cannot read old data (not BACKWARD compatible with v1). */
export const userNoDefault = {
  ...userV1,
  fields: [...userV1.fields, { name: 'email', type: 'string' }],
};
