import { describe, expect, it } from 'vitest';
import { OnexError } from '../../../src/errors/index.js';
import { kafkaConfigFromEnv, parseKafkaConfig, toKafkaJsConfig, transportFailure } from '../../../src/kafka/index.js';

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

  it("takes Kafka's security.protocol as ONEX_KAFKA_SECURITY_PROTOCOL and checks it against the SASL mechanism", () => {
    const sasl = { ONEX_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', ONEX_KAFKA_SASL_USERNAME: 'u', ONEX_KAFKA_SASL_PASSWORD: 'p' };
    expect(kafkaConfigFromEnv({ ONEX_KAFKA_SECURITY_PROTOCOL: 'sasl_ssl', ...sasl }).ssl).toBe(true);
    expect(kafkaConfigFromEnv({ ONEX_KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', ONEX_KAFKA_SSL: 'true', ...sasl }).ssl).toBe(false);
    expect(kafkaConfigFromEnv({ ONEX_KAFKA_SECURITY_PROTOCOL: 'SSL' })).toMatchObject({ ssl: true, sasl: undefined });
    expect(() => kafkaConfigFromEnv({ ONEX_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })).toThrow(/needs ONEX_KAFKA_SASL_MECHANISM/);
    expect(() => kafkaConfigFromEnv({ ONEX_KAFKA_SECURITY_PROTOCOL: 'SSL', ...sasl })).toThrow(/has no SASL/);
    expect(() => kafkaConfigFromEnv({ ONEX_KAFKA_SECURITY_PROTOCOL: 'TLS' })).toThrow(/is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/);
  });

  it('names a refused SASL login and an untrusted certificate in one ONEX line, through kafkajs wrappers', () => {
    const sasl = Object.assign(new Error('SASL SCRAM SHA512 authentication failed: invalid credentials'), { name: 'KafkaJSSASLAuthenticationError' });
    const wrapped = Object.assign(new Error('wrapped'), { name: 'KafkaJSNonRetriableError', cause: sasl });
    expect(transportFailure(wrapped)).toMatchObject({ code: 'ONEX_EVENT_634' });
    expect(transportFailure(wrapped)!.message).toMatch(/refused the SASL login: check the sasl username, password and mechanism/);
    const tls = Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), { name: 'KafkaJSConnectionError', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    const retries = Object.assign(new Error('Connection error'), { name: 'KafkaJSNumberOfRetriesExceeded', originalError: tls });
    expect(transportFailure(retries, '127.0.0.1:9093')).toMatchObject({ code: 'ONEX_EVENT_635' });
    expect(transportFailure(retries, '127.0.0.1:9093')!.message).toMatch(/^Kafka at 127.0.0.1:9093 presented a TLS certificate this client does not trust \(SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain\): give the CA/);
    // Without a where: the broker and Node's code come from the connection error under kafkajs's wrapper.
    const bare = Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), { name: 'KafkaJSConnectionError', code: 'SELF_SIGNED_CERT_IN_CHAIN', broker: '127.0.0.1:9094' });
    const outer = Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: bare });
    expect(transportFailure(outer)!.message).toMatch(/^Kafka at 127.0.0.1:9094 presented a TLS certificate this client does not trust \(SELF_SIGNED_CERT_IN_CHAIN: /);
    expect(transportFailure(new Error('Connection timeout'))).toBeUndefined();
  });
});
