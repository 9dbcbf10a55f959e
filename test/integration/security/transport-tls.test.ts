import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionFromEnv } from '../../../src/codec/index.js';
import { freePort, makePemCertificates, startEphemeralBroker, type EphemeralBroker, type SaslSslInfo } from '../../../src/dev/index.js';
import type { AnyOnexEvent } from '../../../src/event/index.js';
import { createKafka, parseKafkaConfig } from '../../../src/kafka/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { startRegistry, type RunningRegistry } from '../../../src/registry/index.js';
import { createWorker } from '../../../src/worker/index.js';
import { REPO_ROOT, runOnex } from '../../support/cli.js';
import { consumeMessages, uniqueTopic } from '../../support/kafka.js';

/**
 * Secured transport for real: a broker of this file's own (the shared one has a PLAINTEXT listener only, and this
 * file is about the broker's listeners) with a SASL_SSL listener, certificates made by keytool for the run and
 * SCRAM-SHA-512 users created through the broker's admin API, and beside it an SSL listener that requires a client
 * certificate (mutual TLS).
 */
const USER = 'alice';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;

let broker: EphemeralBroker;
let tls: SaslSslInfo;
let ca: string;
let registry: RunningRegistry;
/** The environment a CLI or service would be given: Kafka's security.protocol vocabulary, the CA as a file. */
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  broker = await startEphemeralBroker({ prefix: 'onex-kafka-tls-', heapMb: 384, saslSsl: { users: { [USER]: PASSWORD }, mtls: true } });
  tls = broker.info.saslSsl!;
  ca = readFileSync(tls.caFile, 'utf8');
  env = {
    KAFKA_BROKERS: tls.bootstrap,
    ONEX_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    ONEX_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    ONEX_KAFKA_SASL_USERNAME: USER,
    ONEX_KAFKA_SASL_PASSWORD: PASSWORD,
    ONEX_KAFKA_SSL_CA: tls.caFile,
  };
  // The registry keeps its schemas in a topic of this broker, read and written over SASL_SSL.
  registry = await startRegistry({ port: 0, store: { kind: 'kafka', brokers: tls.bootstrap, kafka: createKafka(connectionFromEnv(env).kafka) } });
});
afterAll(async () => {
  await registry?.close();
  await broker?.stop();
});

const secured = (password = PASSWORD) =>
  createKafka({
    brokers: tls.bootstrap,
    ssl: { ca },
    sasl: { mechanism: 'scram-sha-512', username: USER, password },
    connectionTimeoutMs: 3_000,
  });

/** Creates a topic through `kafka`, writes one record with acks=all and reads it back: the values read. */
async function roundTrip(kafka: Kafka, prefix: string, value: string): Promise<Array<string | undefined>> {
  const topic = uniqueTopic(prefix);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ key: 'k', value }] });
  await producer.disconnect();
  return (await consumeMessages(kafka, topic, 1, 30_000)).map((m) => m.value?.toString());
}

describe('local broker SASL_SSL listener', () => {
  it('says where the listener, CA and client settings are; secrets stay in owner-only files', () => {
    expect(tls.mechanism).toBe('SCRAM-SHA-512');
    expect(tls.users).toEqual([USER]);
    expect(tls.bootstrap).toBe(`127.0.0.1:${tls.port}`);
    expect(ca).toContain('BEGIN CERTIFICATE');
    const props = readFileSync(tls.clientProperties, 'utf8');
    expect(props).toContain('security.protocol=SASL_SSL');
    expect(props).toContain('sasl.mechanism=SCRAM-SHA-512');
    expect(statSync(tls.clientProperties).mode & 0o077).toBe(0);
    // broker.json (the state `onex kafka status` prints) holds no password.
    const state = readFileSync(`${broker.info.dataDir}/broker.json`, 'utf8');
    expect(state).not.toContain(PASSWORD);
  });

  it('produces and consumes over SASL_SSL with SCRAM-SHA-512 and the generated CA', async () => {
    expect(await roundTrip(secured(), 'tls-raw', 'over tls')).toEqual(['over tls']);
  });

  it('refuses plaintext on the TLS port', async () => {
    const kafka = createKafka({ brokers: tls.bootstrap, connectionTimeoutMs: 2_000, requestTimeoutMs: 3_000, retry: { retries: 0 } });
    const admin = kafka.admin();
    await expect(admin.connect()).rejects.toThrow();
    await admin.disconnect().catch(() => undefined);
  });
});

describe('producer, worker and registry store over SASL_SSL', () => {
  it('a producer and a worker configured from the environment exchange events through the SASL_SSL listener', async () => {
    const topic = uniqueTopic('tls-events');
    const { kafka } = connectionFromEnv(env);
    expect(kafka.ssl).toMatchObject({ ca });
    const producer = new OnexProducer({ kafka, registry: registry.url, topic, schemaVersion: '1.3.0', metricsRegistry: new Registry() });
    const seen: AnyOnexEvent[] = [];
    const worker = createWorker({
      kafka,
      registry: registry.url,
      groupId: `g-${topic}`,
      topics: topic,
      fromBeginning: true,
      metricsRegistry: new Registry(),
      consumer: { maxWaitTimeMs: 100 },
      handlers: { '*': (e) => void seen.push(e) },
    });
    try {
      const sent = await Promise.all(
        [1, 2, 3].map((i) => producer.emit({ node_id: 'stamper_node-001', event_type: 'NODE_START', correlation_id: randomUUIDish(i), metadata: { input_state: { file: `${i}.py` } } })),
      );
      await worker.start();
      const deadline = Date.now() + 30_000;
      while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(seen.map((e) => e.event_id).sort()).toEqual(sent.map((r) => r.eventId).sort());
    } finally {
      await Promise.allSettled([worker.stop(), producer.close()]);
    }
  });

  it('a wrong password fails fast with ONEX_EVENT_634 in one sentence that holds no secret', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const { kafka } = connectionFromEnv({ ...env, ONEX_KAFKA_SASL_PASSWORD: wrong });
    const topic = uniqueTopic('tls-wrong');
    const t0 = Date.now();
    const producer = new OnexProducer({ kafka, registry: registry.url, topic, schemaVersion: '1.3.0', metricsRegistry: new Registry() });
    const failure = await producer.emit({ node_id: 'stamper_node-001', event_type: 'NODE_START', correlation_id: 'c-1', metadata: {} }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    await producer.close().catch(() => undefined);
    expect(failure?.code).toBe('ONEX_EVENT_634');
    expect(failure!.message).toMatch(/refused the SASL login: check the sasl username, password and mechanism/);
    const worker = createWorker({ kafka, registry: registry.url, groupId: `g-${topic}`, topics: topic, metricsRegistry: new Registry(), handlers: {} });
    const workerFailure = await worker.start().then(() => undefined, (e: unknown) => e as Error & { code?: string });
    expect(workerFailure?.code).toBe('ONEX_EVENT_634');
    expect(Date.now() - t0).toBeLessThan(15_000);
    for (const e of [failure!, workerFailure!]) {
      expect(`${e.message} ${e.stack}`).not.toContain(wrong);
      expect(`${e.message} ${e.stack}`).not.toContain(PASSWORD);
    }
  });

  it('an untrusted broker certificate fails on the first attempt with ONEX_EVENT_635 naming the broker and the TLS reason (default retries)', async () => {
    const { kafka } = connectionFromEnv(env);
    const otherCa = makePemCertificates().ca;
    const cases: Array<[string, boolean | { ca: string; servername?: string }, RegExp]> = [
      // ssl: true trusts the system CAs only, none of which signed the broker's certificate.
      ['system CAs', true, /does not trust \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE): [^)]+\): give the CA that signed it as ssl.ca/],
      ['another CA', { ca: otherCa }, /does not trust \([A-Z_]+: [^)]+\): give the CA that signed it as ssl.ca/],
      ['a name the certificate lacks', { ca, servername: 'broker.invalid' }, /issued to other names \(ERR_TLS_CERT_ALTNAME_INVALID: Hostname\/IP does not match certificate's altnames: [^)]+\): connect by a host name or address the certificate lists/],
    ];
    for (const [what, ssl, reason] of cases) {
      // The pipeline's default retry (8 retries with backoff from 300 ms): kafkajs alone would take tens of seconds.
      const config = { ...kafka, ssl };
      expect(config.retry.retries, what).toBe(8);
      const t0 = Date.now();
      const producer = new OnexProducer({ kafka: config, registry: registry.url, topic: uniqueTopic('tls-untrusted'), schemaVersion: '1.3.0', metricsRegistry: new Registry() });
      const failure = await producer.emit({ node_id: 'stamper_node-001', event_type: 'NODE_START', correlation_id: 'c-1', metadata: {} }).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      await producer.close().catch(() => undefined);
      const worker = createWorker({ kafka: config, registry: registry.url, groupId: `g-untrusted-${what.length}`, topics: uniqueTopic('tls-untrusted'), metricsRegistry: new Registry(), handlers: {} });
      const workerFailure = await worker.start().then(() => undefined, (e: unknown) => e as Error & { code?: string });
      await worker.stop().catch(() => undefined);
      const elapsed = Date.now() - t0;
      for (const e of [failure, workerFailure]) {
        expect(e?.code, `${what}: ${e?.message}`).toBe('ONEX_EVENT_635');
        expect(e!.message, what).toMatch(new RegExp(`^Kafka at ${tls.bootstrap.replace(/\./g, '\\.')} presented a TLS certificate`));
        expect(e!.message, what).toMatch(reason);
        expect(e!.message, what).not.toMatch(/\n/);
        expect(`${e!.message} ${e!.stack}`).not.toContain(PASSWORD);
      }
      // Producer and worker together, on a loaded machine: one handshake each, no retry backoff (300 ms, 600 ms, ...).
      expect(elapsed, what).toBeLessThan(3_000);
    }
  });
});

describe('mutual TLS: a listener with ssl.client.auth=required', () => {
  it('a client with the certificate made for the run produces and consumes; the producer and worker do from the environment (SSL)', async () => {
    const m = tls.mtls!;
    expect(m.bootstrap).toBe(`127.0.0.1:${m.port}`);
    expect(statSync(m.keyFile).mode & 0o077).toBe(0);
    const kafka = createKafka({ brokers: m.bootstrap, ssl: { ca, cert: readFileSync(m.certFile, 'utf8'), key: readFileSync(m.keyFile, 'utf8') } });
    expect(await roundTrip(kafka, 'mtls-raw', 'over mutual tls')).toEqual(['over mutual tls']);

    const fromEnv = connectionFromEnv({ KAFKA_BROKERS: m.bootstrap, ONEX_KAFKA_SECURITY_PROTOCOL: 'SSL', ONEX_KAFKA_SSL_CA: tls.caFile, ONEX_KAFKA_SSL_CERT: m.certFile, ONEX_KAFKA_SSL_KEY: m.keyFile }).kafka;
    const events = uniqueTopic('mtls-events');
    const onex = new OnexProducer({ kafka: fromEnv, registry: registry.url, topic: events, schemaVersion: '1.3.0', metricsRegistry: new Registry() });
    const seen: AnyOnexEvent[] = [];
    const worker = createWorker({ kafka: fromEnv, registry: registry.url, groupId: `g-${events}`, topics: events, fromBeginning: true, metricsRegistry: new Registry(), consumer: { maxWaitTimeMs: 100 }, handlers: { '*': (e) => void seen.push(e) } });
    try {
      const sent = await onex.emit({ node_id: 'stamper_node-001', event_type: 'NODE_START', correlation_id: randomUUIDish(9), metadata: { input_state: { file: 'mtls.py' } } });
      await worker.start();
      const deadline = Date.now() + 30_000;
      while (seen.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(seen.map((e) => e.event_id)).toEqual([sent.eventId]);
    } finally {
      await Promise.allSettled([worker.stop(), onex.close()]);
    }
  });

  it('a client without a certificate, or with one of another CA, gets ONEX_EVENT_636 in one sentence on the first attempt', async () => {
    const m = tls.mtls!;
    const stranger = makePemCertificates({ hosts: ['stranger'], commonName: 'stranger', usage: 'client' });
    const cases: Array<[string, { ca: string; cert?: string; key?: string }, RegExp]> = [
      ['no certificate', { ca }, /requires a TLS client certificate and this client gave none \(ERR_SSL_[A-Z0-9_]+\): set ssl.cert and ssl.key \(ONEX_KAFKA_SSL_CERT \/ ONEX_KAFKA_SSL_KEY\)$/],
      ['another CA', { ca, cert: stranger.cert, key: stranger.key }, /refused this client's TLS certificate \(ERR_SSL_[A-Z0-9_]+\): give a client certificate signed by a CA the broker trusts as ssl.cert and ssl.key/],
    ];
    for (const [what, ssl, reason] of cases) {
      const t0 = Date.now();
      const config = parseKafkaConfig({ brokers: m.bootstrap, ssl });
      expect(config.retry.retries).toBe(8);
      const producer = new OnexProducer({ kafka: config, registry: registry.url, topic: uniqueTopic('mtls-refused'), schemaVersion: '1.3.0', metricsRegistry: new Registry() });
      const failure = await producer.emit({ node_id: 'stamper_node-001', event_type: 'NODE_START', correlation_id: 'c-1', metadata: {} }).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      await producer.close().catch(() => undefined);
      const admin = createKafka(config).admin();
      const adminFailure = await admin.connect().then(() => undefined, (e: unknown) => e as Error & { code?: string });
      await admin.disconnect().catch(() => undefined);
      for (const e of [failure, adminFailure]) {
        expect(e?.code, `${what}: ${e?.message}`).toBe('ONEX_EVENT_636');
        expect(e!.message, what).toMatch(new RegExp(`^Kafka at ${m.bootstrap.replace(/\./g, '\\.')} `));
        expect(e!.message, what).toMatch(reason);
      }
      expect(Date.now() - t0, what).toBeLessThan(3_000);
    }
  });
});

describe('no secret in any output', () => {
  it('onex produce, onex worker (logs at debug, kafkajs debug, /metrics), a refused login and --help never show a password or key', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const keystorePassword = readFileSync(join(broker.info.dataDir, 'tls', 'keystore.password'), 'utf8').trim();
    const secrets = [PASSWORD, wrong, keystorePassword, Buffer.from(PASSWORD).toString('base64')];
    const cliEnv = { ...process.env, ...env, SCHEMA_REGISTRY_URL: registry.url, ONEX_LOG_LEVEL: 'debug', ONEX_KAFKAJS_LOG: 'debug' };
    const outputs: Array<[string, string]> = [];
    const topic = uniqueTopic('tls-cli');

    const produced = await runOnex(['produce', '--topic', topic, '--count', '20', '--partitions', '1'], { env: cliEnv, timeoutMs: 60_000 });
    outputs.push(['onex produce', produced.stdout + produced.stderr]);
    expect(produced.code, produced.stderr.slice(-1000)).toBe(0);
    expect(JSON.parse(produced.stdout.trim().split('\n').pop()!)).toMatchObject({ sent: 20 });

    const dir = broker.info.dataDir;
    const handled = join(dir, 'handled.txt');
    writeFileSync(handled, '');
    writeFileSync(join(dir, 'handlers.mjs'), `import { appendFileSync } from 'node:fs';\nexport const handlers = { '*': () => appendFileSync(${JSON.stringify(handled)}, 'x') };\n`);
    const metricsPort = await freePort();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--topic', topic, '--group', `g-${topic}`, '--handlers', join(dir, 'handlers.mjs'), '--from-beginning', '--metrics-port', String(metricsPort)],
      { cwd: REPO_ROOT, env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let workerOut = '';
    child.stdout!.on('data', (d) => (workerOut += d));
    child.stderr!.on('data', (d) => (workerOut += d));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const deadline = Date.now() + 40_000;
      while (readFileSync(handled, 'utf8').length < 20 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
      expect(readFileSync(handled, 'utf8').length, workerOut.slice(-1500)).toBe(20);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toContain('onex_');
      outputs.push(['onex worker /metrics', metrics]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit, workerOut.slice(-1500)).toBe(0);
    outputs.push(['onex worker', workerOut]);
    // The logs really are at debug, kafkajs's included (so the grep below has something to look through).
    expect(workerOut).toMatch(/"module":"kafkajs"/);

    const refused = await runOnex(['produce', '--topic', topic, '--count', '1'], { env: { ...cliEnv, ONEX_KAFKA_SASL_PASSWORD: wrong }, timeoutMs: 30_000 });
    outputs.push(['onex produce, wrong password', refused.stdout + refused.stderr]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/^ONEX_EVENT_634: Kafka at 127\.0\.0\.1:\d+ refused the SASL login: check/m);

    for (const cmd of [['kafka', 'start'], ['registry', 'serve'], ['produce'], ['worker'], ['consume']]) {
      const help = await runOnex([...cmd, '--help'], { env: cliEnv, timeoutMs: 30_000 });
      expect(help.code).toBe(0);
      outputs.push([`onex ${cmd.join(' ')} --help`, help.stdout + help.stderr]);
    }

    // Enough was said to make the grep mean something: debug logs of two processes, a metrics page, five help pages.
    expect(outputs.reduce((n, [, text]) => n + text.length, 0)).toBeGreaterThan(20_000);
    for (const [what, text] of outputs) for (const secret of secrets) expect(text.includes(secret), `${what} shows a secret`).toBe(false);
  });
});

function randomUUIDish(i: number): string {
  return `tls-flow-${i}-${randomBytes(4).toString('hex')}`;
}

