import { MemoryStore } from '../../src/registry/memory-store.js';
import { createRegistryServer } from '../../src/registry/server.js';

export interface TestRegistry {
  /** Base URL of a real registry server on 127.0.0.1, spoken to over HTTP like any Confluent registry. */
  url: string;
  stop(): Promise<void>;
}

/** Starts our Confluent-compatible registry on a free 127.0.0.1 port for one test file. */
export async function startTestRegistry(): Promise<TestRegistry> {
  const server = createRegistryServer({ store: new MemoryStore() });
  const url = await server.listen(0, '127.0.0.1');
  return { url, stop: () => server.close() };
}
