import { KafkaStore } from '../../../src/registry/kafka-store.js';
import { createRegistryServer, type RegistryServer, type RegistryServerOptions } from '../../../src/registry/server.js';
import { kafkaBrokers } from '../../support/kafka.js';

export interface LiveRegistry {
  url: string;
  server: RegistryServer;
  store: KafkaStore;
  close(): Promise<void>;
}

/** A real registry server on 127.0.0.1 (a free port), its state in `topic` on the shared test broker. */
export async function startKafkaRegistry(topic: string, options: Partial<RegistryServerOptions> = {}): Promise<LiveRegistry> {
  const store = new KafkaStore({ brokers: kafkaBrokers(), topic, timeoutMs: 60_000 });
  const server = createRegistryServer({ ...options, store });
  const url = await server.listen(0, '127.0.0.1');
  return { url, server, store, close: () => server.close() };
}

export interface HttpAnswer {
  status: number;
  body: any;
  contentType: string | null;
}

/** Plain HTTP against the server, as any client would send it. */
export async function http(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`${url}${path}`, {
    method,
    body: payload,
    headers: payload === undefined ? headers : { 'content-type': 'application/vnd.schemaregistry.v1+json', ...headers },
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, contentType: res.headers.get('content-type') };
}

export function avroRecord(name: string, fields: Array<{ name: string; type: unknown; default?: unknown }>) {
  return { type: 'record', name, namespace: 'com.onex.test', fields };
}
