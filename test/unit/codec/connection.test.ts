import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { connectionFromEnv, registryFromEnv } from '../../../src/codec/index.js';
import type { OnexError } from '../../../src/errors/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { createWorker } from '../../../src/worker/index.js';

const env = { KAFKA_BROKERS: '127.0.0.1:1,127.0.0.2:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'svc:s3:cret' };
const handlers = { '*': () => undefined };

// The producer and the worker take the same connection options; each side is built with them here.
const sides = {
  producer: (o: object) => new OnexProducer({ metricsRegistry: new Registry(), ...o } as never),
  worker: (o: object) => createWorker({ groupId: 'g', topics: 't', handlers, metricsRegistry: new Registry(), ...o } as never),
};

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return `${(e as OnexError).code}: ${(e as OnexError).message}`;
  }
  return 'accepted';
}

describe.each(Object.entries(sides))('the %s connection options', (side, make) => {
  it('take { brokers, ssl, sasl, clientId } and a registry URL, { url, auth } or a client, and build the rest', () => {
    expect(refusal(() => make({ kafka: { brokers: '127.0.0.1:1', clientId: 'svc' }, registry: 'http://127.0.0.1:1' }))).toBe('accepted');
    const sasl = { mechanism: 'scram-sha-512', username: 'u', password: 'p' };
    expect(refusal(() => make({ kafka: { brokers: ['127.0.0.1:1'], ssl: true, sasl }, registry: { url: 'https://r:8081', auth: { username: 'u', password: 'p' } } }))).toBe('accepted');
    const client = { register: async () => 1, getSchema: async () => '"string"' };
    expect(refusal(() => make({ kafka: { brokers: '127.0.0.1:1' }, registry: client }))).toBe('accepted');
  });

  it.each([
    [{ kafka: undefined, registry: 'http://r:1' }, 'option kafka:'],
    [{ kafka: 'localhost:9092', registry: 'http://r:1' }, 'option kafka:'],
    [{ kafka: { brokers: 'localhost' }, registry: 'http://r:1' }, 'option kafka.brokers.0:'],
    [{ kafka: { brokers: [] }, registry: 'http://r:1' }, 'option kafka.brokers:'],
    [{ kafka: { brokers: 'h:1', sasl: { mechanism: 'gssapi' } }, registry: 'http://r:1' }, 'option kafka.sasl.mechanism:'],
    [{ kafka: { brokers: 'h:1', ssl: 'yes' }, registry: 'http://r:1' }, 'option kafka.ssl:'],
    [{ kafka: { brokers: 'h:1' } }, 'option registry:'],
    [{ kafka: { brokers: 'h:1' }, registry: 'r:8081' }, 'option registry:'],
    [{ kafka: { brokers: 'h:1' }, registry: { url: 'http://r:1', auth: { password: 'p' } } }, 'option registry.auth.username:'],
    [{ kafka: { brokers: 'h:1' }, registry: { url: 'http://r:1', token: 'x' } }, 'option registry:'],
  ])('refuse %j with ONEX_RT_407 naming the option', (options, named) => {
    const message = refusal(() => make(options));
    expect(message).toMatch(/^ONEX_RT_407: invalid (producer|worker) option /);
    expect(message).toContain(`${side} ${named}`);
  });

  it('fromEnv() reads the CLI environment, and what the caller passes wins', () => {
    const fromEnv = side === 'producer' ? (o: object, e: NodeJS.ProcessEnv) => OnexProducer.fromEnv({ metricsRegistry: new Registry(), ...o }, e) : (o: object, e: NodeJS.ProcessEnv) => createWorker.fromEnv({ groupId: 'g', topics: 't', handlers, metricsRegistry: new Registry(), ...o }, e);
    expect(refusal(() => fromEnv({}, env))).toBe('accepted');
    expect(refusal(() => fromEnv({}, { KAFKA_BROKERS: 'h:1' }))).toContain('option registry:');
    expect(refusal(() => fromEnv({}, { ...env, KAFKA_BROKERS: 'nonsense' }))).toContain('ONEX_RT_407');
    expect(refusal(() => fromEnv({ kafka: { brokers: 'h:1' } }, { ...env, KAFKA_BROKERS: 'nonsense' }))).toBe('accepted');
  });
});

describe('connectionFromEnv', () => {
  it('reads KAFKA_BROKERS, ONEX_KAFKA_*, SCHEMA_REGISTRY_URL and SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO', () => {
    const c = connectionFromEnv({ ...env, ONEX_KAFKA_SASL_MECHANISM: 'PLAIN', ONEX_KAFKA_SASL_USERNAME: 'a', ONEX_KAFKA_SASL_PASSWORD: 'b', ONEX_KAFKA_SSL: 'true' }, 'svc');
    expect(c.kafka).toMatchObject({ brokers: ['127.0.0.1:1', '127.0.0.2:1'], clientId: 'svc', ssl: true, sasl: { mechanism: 'plain', username: 'a', password: 'b' } });
    expect(c.registry).toEqual({ url: 'http://127.0.0.1:1', auth: { username: 'svc', password: 's3:cret' } });
    expect(connectionFromEnv({ KAFKA_BROKERS: 'h:1' }).registry).toBeUndefined();
    expect(refusal(() => registryFromEnv({ SCHEMA_REGISTRY_URL: 'http://r:1', SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'nocolon' }))).toMatch(/^ONEX_RT_407: SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO/);
  });
});
