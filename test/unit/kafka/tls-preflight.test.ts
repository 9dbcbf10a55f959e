import { createServer, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePemCertificates } from '../../../src/dev/pem-certs.js';
import { InMemoryProvider } from '@openfeature/server-sdk';
import { FlagSet } from '../../../src/flags/index.js';
import { checkBrokerCertificates, parseKafkaConfig, withCertificateCheck } from '../../../src/kafka/index.js';
import { freePort } from '../../../src/dev/index.js';

// A TLS server of this file (node:tls, certificates from node:crypto) stands in for a broker's TLS handshake: the
// check makes only the handshake, never a Kafka request.
const certs = makePemCertificates({ hosts: ['127.0.0.1', 'localhost'] });
const otherCa = makePemCertificates().ca;
let server: Server;
let broker: string;

beforeAll(async () => {
  server = createServer({ cert: certs.cert, key: certs.key }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  broker = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const check = (ssl: unknown, brokers = [broker]) => checkBrokerCertificates(parseKafkaConfig({ brokers, ssl, connectionTimeoutMs: 2_000 } as never));
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error & { code?: string });

describe('broker certificate check before connect', () => {
  it('passes a broker whose certificate chains to the given CA, and plaintext configurations', async () => {
    await expect(check({ ca: certs.ca })).resolves.toBeUndefined();
    await expect(checkBrokerCertificates(parseKafkaConfig({ brokers: [broker] }))).resolves.toBeUndefined();
  });

  it('an unknown CA, a self-signed chain (system CAs only) and a name the certificate lacks are ONEX_EVENT_635 naming the broker and the TLS reason', async () => {
    const unknown = await failure(check({ ca: otherCa }));
    expect(unknown?.code).toBe('ONEX_EVENT_635');
    expect(unknown!.message).toMatch(new RegExp(`^Kafka at ${broker} presented a TLS certificate this client does not trust \\([A-Z_]+: [^)]+\\): give the CA that signed it as ssl.ca \\(ONEX_KAFKA_SSL_CA\\)$`));
    const system = await failure(check(true));
    expect(system?.code).toBe('ONEX_EVENT_635');
    const name = await failure(check({ ca: certs.ca, servername: 'broker.invalid' }));
    expect(name?.code).toBe('ONEX_EVENT_635');
    expect(name!.message).toMatch(/presented a TLS certificate issued to other names \(ERR_TLS_CERT_ALTNAME_INVALID: Hostname\/IP does not match certificate's altnames: [^)]+\): connect by a host name or address the certificate lists/);
    expect(system!.message).toMatch(/does not trust \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE): /);
    // One sentence: no line break, no stack of kafkajs.
    for (const e of [unknown!, system!, name!]) expect(e.message).not.toMatch(/\n/);
  });

  it('leaves an unreachable broker to kafkajs, and passes when any seed broker is trusted', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    await expect(check({ ca: certs.ca }, [closed])).resolves.toBeUndefined();
    await expect(check({ ca: certs.ca }, [closed, broker])).resolves.toBeUndefined();
  });

  it('runs in front of connect() of producers, consumers and admins; not without TLS or with onex.kafka.tls-preflight off', async () => {
    const config = parseKafkaConfig({ brokers: [broker], ssl: { ca: otherCa }, connectionTimeoutMs: 2_000, retry: { retries: 0 } });
    const make = () => new kafkajs.Kafka({ brokers: config.brokers, ssl: config.ssl, logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 0 } });
    const guarded = withCertificateCheck(make(), config);
    for (const client of [guarded.producer(), guarded.consumer({ groupId: 'g' }), guarded.admin()]) {
      expect((await failure(client.connect()))?.code).toBe('ONEX_EVENT_635');
    }
    const plain = make();
    expect(withCertificateCheck(plain, parseKafkaConfig({ brokers: [broker] }))).toBe(plain);
    const off = new FlagSet({ domain: 'tls-preflight-off' });
    await off.useProvider(new InMemoryProvider({ 'onex.kafka.tls-preflight': { variants: { on: true, off: false }, defaultVariant: 'off', disabled: false } }));
    const unguarded = withCertificateCheck(make(), config, off);
    // kafkajs's own failure: its connection error, not the check's ONEX line.
    expect((await failure(unguarded.admin().connect()))?.code).not.toBe('ONEX_EVENT_635');
  });
});
