import type { Kafka } from 'kafkajs';
import { onexError } from '../errors/index.js';
import { KafkaStore } from './kafka-store.js';
import { MemoryStore } from './memory-store.js';
import { createRegistryServer } from './server.js';
import type { RegistryStore } from './store.js';
import type { BasicAuthOptions, RunningRegistry } from './types.js';

export interface StartRegistryOptions {
  port?: number;
  host?: string;
  store:
    | { kind: 'memory' }
    | {
        kind: 'kafka';
        brokers: string | string[];
        topic?: string;
        replicationFactor?: number;
        minInsyncReplicas?: number;
        /** A ready client (from createKafka, e.g. with ssl and sasl); default one made from brokers and ONEX_KAFKA_*. */
        kafka?: Kafka;
      };
  auth?: BasicAuthOptions;
  bodyLimit?: number;
  /** HTTPS: the server certificate (chain) and private key, PEM text. */
  tls?: { cert: string; key: string };
}

/** Builds the store, rebuilds its state, and serves the REST API until close(). */
export async function startRegistry(options: StartRegistryOptions): Promise<RunningRegistry> {
  const store: RegistryStore =
    options.store.kind === 'memory'
      ? new MemoryStore()
      : new KafkaStore({
          brokers: options.store.brokers,
          topic: options.store.topic,
          replicationFactor: options.store.replicationFactor,
          minInsyncReplicas: options.store.minInsyncReplicas,
          ...(options.store.kafka ? { kafka: options.store.kafka } : {}),
        });
  const server = createRegistryServer({ store, auth: options.auth, bodyLimit: options.bodyLimit, ...(options.tls ? { tls: options.tls } : {}) });
  try {
    const url = await server.listen(options.port ?? 8081, options.host ?? '127.0.0.1');
    return { url, store: store.description, health: server.health, close: () => server.close() };
  } catch (err) {
    await server.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw onexError('ONEX_RT_406', `port ${options.port} on ${options.host ?? '127.0.0.1'} is already in use`, { cause: err });
    }
    throw err;
  }
}
