import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { saslSslProperties } from '../../../src/dev/broker-tls.js';
import { makePemCertificates } from '../../../src/dev/index.js';

describe('test certificates made with node:crypto', () => {
  it('a CA and a server certificate for 127.0.0.1 and localhost that it signed, and not another CA', () => {
    const a = makePemCertificates();
    const ca = new X509Certificate(a.ca);
    const server = new X509Certificate(a.cert);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkHost('example.com')).toBeUndefined();
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkPrivateKey(createPrivateKey(a.key))).toBe(true);
    expect(server.verify(new X509Certificate(makePemCertificates().ca).publicKey)).toBe(false);
    expect(new Date(server.validTo).getTime() - Date.now()).toBeLessThan(8 * 86_400_000);
  });
});

describe('the SASL_SSL listener properties', () => {
  const tls = { dir: '/d', caFile: '/d/ca.pem', keystoreFile: '/d/broker.p12', keystorePassword: 'ks' };
  it('adds a SASL_SSL listener beside PLAINTEXT and CONTROLLER; SCRAM users live in the metadata, PLAIN ones in JAAS', () => {
    const scram = saslSslProperties(9092, 9093, 9094, tls, 'SCRAM-SHA-512', { alice: 'pw' });
    expect(scram.listeners).toBe('PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SASL_SSL://127.0.0.1:9094');
    expect(scram['advertised.listeners']).toBe('PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9094');
    expect(scram['sasl.enabled.mechanisms']).toBe('SCRAM-SHA-512');
    expect(JSON.stringify(scram)).not.toContain('"pw"');
    const plain = saslSslProperties(9092, 9093, 9094, tls, 'PLAIN', { alice: 'pw', bob: 'x"y' });
    expect(plain['listener.name.sasl_ssl.plain.sasl.jaas.config']).toBe(
      'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="pw" user_bob="x\\"y";',
    );
  });
});
