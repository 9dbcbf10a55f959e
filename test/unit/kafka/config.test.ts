import { describe, expect, it } from 'vitest';
import { OnexError } from '../../../src/errors/index.js';
import { kafkaConfigFromEnv, parseKafkaConfig, toKafkaJsConfig } from '../../../src/kafka/index.js';

describe('Kafka client configuration', () => {
  it('accepts a comma-separated broker list and fills defaults', () => {
    const c = parseKafkaConfig({ brokers: '127.0.0.1:9092, 127.0.0.1:9093' });
    expect(c.brokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(c.clientId).toBe('onex-events');
    expect(c.ssl).toBe(false);
    expect(c.sasl).toBeUndefined();
    expect(c.retry.retries).toBeGreaterThan(0);
  });

  it.each([
    [{ brokers: '' }, 'brokers'],
    [{ brokers: 'localhost' }, 'brokers.0'],
    [{ brokers: ['127.0.0.1:9092'], sasl: { mechanism: 'gssapi', username: 'u', password: 'p' } }, 'sasl.mechanism'],
    [{ brokers: ['127.0.0.1:9092'], sasl: { mechanism: 'plain', username: '', password: 'p' } }, 'sasl.username'],
    [{ brokers: ['127.0.0.1:9092'], connectionTimeoutMs: -1 }, 'connectionTimeoutMs'],
  ])('rejects %j with ONEX_RT_407 naming %s', (input, path) => {
    let err: unknown;
    try {
      parseKafkaConfig(input as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnexError);
    expect((err as OnexError).code).toBe('ONEX_RT_407');
    expect((err as OnexError).message).toContain(`at ${path}:`);
  });

  it('reads KAFKA_BROKERS, TLS and SCRAM from the environment, flags winning', () => {
    const env = {
      KAFKA_BROKERS: 'a:1,b:2',
      ONEX_KAFKA_SSL: 'true',
      ONEX_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      ONEX_KAFKA_SASL_USERNAME: 'svc',
      ONEX_KAFKA_SASL_PASSWORD: 'secret',
    };
    const c = kafkaConfigFromEnv(env);
    expect(c.brokers).toEqual(['a:1', 'b:2']);
    expect(c.ssl).toBe(true);
    expect(c.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 'secret' });
    expect(kafkaConfigFromEnv(env, { brokers: 'c:3' }).brokers).toEqual(['c:3']);
    const js = toKafkaJsConfig(c);
    expect(js.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 'secret' });
    expect(js.ssl).toBe(true);
  });

  it('fails clearly when a TLS file in the environment cannot be read', () => {
    expect(() => kafkaConfigFromEnv({ KAFKA_BROKERS: 'a:1', ONEX_KAFKA_SSL_CA: '/nonexistent/ca.pem' })).toThrow(
      /ONEX_KAFKA_SSL_CA names \/nonexistent\/ca.pem, which cannot be read/,
    );
  });
});
