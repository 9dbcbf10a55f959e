import { startRegistry } from '../../src/registry/index.js';
import { kafkaBrokers, uniqueTopic } from './kafka.js';

export interface TestRegistry {
  /** Base URL of a real registry server on 127.0.0.1, spoken to over HTTP like any Confluent registry. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts our Confluent-compatible registry on a free 127.0.0.1 port for one test file, storing its schemas on the
 * run's real broker in a topic of its own (so test files never see each other's subjects or ids).
 */
export async function startTestRegistry(brokers: string[] = kafkaBrokers()): Promise<TestRegistry> {
  const registry = await startRegistry({
    port: 0,
    store: { kind: 'kafka', brokers, topic: uniqueTopic('schemas') },
  });
  return { url: registry.url, stop: () => registry.close() };
}
