import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryFromEnv } from '../../../src/codec/index.js';
import { makePemCertificates } from '../../../src/dev/index.js';
import type { AnyOnexEvent } from '../../../src/event/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { RegistryClient } from '../../../src/registry/index.js';
import { createWorker } from '../../../src/worker/index.js';
import { REPO_ROOT } from '../../support/cli.js';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka.js';

// `onex registry serve --tls-cert --tls-key` as a user runs it, with basic auth, and the registry client, producer and
// worker trusting its CA (certificates made by node:crypto for this file: src/dev/pem-certs.ts).

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const USER = 'registry-writer';
const PASSWORD = `rpw-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
const certs = makePemCertificates();
const dir = mkdtempSync(join(tmpdir(), 'onex-registry-tls-'));
const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
writeFileSync(files.ca, certs.ca);
writeFileSync(files.cert, certs.cert);
writeFileSync(files.key, certs.key, { mode: 0o600 });

let child: ChildProcess;
let url: string;
let output = '';

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'registry', 'serve', '--port', '0', '--memory', '--tls-cert', files.cert, '--tls-key', files.key], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ONEX_REGISTRY_USERS: `${USER}:${PASSWORD}`, ONEX_LOG_LEVEL: 'debug' },
  });
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(line.trim()));
    void exited.then((code) => reject(new Error(`registry exited with ${code}: ${output}`)));
  });
});
afterAll(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const auth = { username: USER, password: PASSWORD };

describe('registry over HTTPS', () => {
  it('serves https with the given certificate; a client trusting the CA registers and reads with basic auth', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = new RegistryClient({ url, auth, tls: { ca: certs.ca } });
    const id = await client.register('https-subject', { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] });
    expect(JSON.parse((await client.getSchema(id)).schema).name).toBe('Color');
    // The same settings from the environment, as the CLI and services read them.
    writeFileSync(join(dir, 'ca-env.pem'), certs.ca);
    const fromEnv = registryFromEnv({ SCHEMA_REGISTRY_URL: url, SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: `${USER}:${PASSWORD}`, SCHEMA_REGISTRY_SSL_CA_LOCATION: join(dir, 'ca-env.pem') });
    expect(fromEnv?.tls?.ca).toBe(certs.ca);
    expect(await new RegistryClient(fromEnv!).getSchema(id)).toMatchObject({ id });
  });

  it('a client without the CA gets ONEX_EVENT_635 at once (no retries), plain http to the port gets no answer', async () => {
    const t0 = Date.now();
    const untrusted = new RegistryClient({ url, auth, retries: 3, backoffMs: 1_000 });
    const err = await untrusted.getSchema(1).then(() => undefined, (e: unknown) => e as Error & { code?: string });
    expect(err?.code).toBe('ONEX_EVENT_635');
    expect(err!.message).toMatch(/presented a TLS certificate this client does not trust \(\w+\): give the CA that signed it/);
    expect(Date.now() - t0).toBeLessThan(1_000);
    const plain = new RegistryClient({ url: url.replace('https:', 'http:'), retries: 0, timeoutMs: 3_000 });
    await expect(plain.getSchema(1)).rejects.toMatchObject({ code: 'ONEX_REG_206' });
  });

  it('the producer and the worker use it with { url, auth, tls: { ca } }', async () => {
    const topic = uniqueTopic('registry-https');
    const registry = { url, auth, tls: { ca: certs.ca } };
    const brokers = kafkaBrokers().join(',');
    const producer = new OnexProducer({ kafka: { brokers }, registry, topic, schemaVersion: '2.0.0', metricsRegistry: new Registry() });
    const seen: AnyOnexEvent[] = [];
    const worker = createWorker({
      kafka: { brokers },
      registry,
      groupId: `g-${topic}`,
      topics: topic,
      fromBeginning: true,
      metricsRegistry: new Registry(),
      consumer: { maxWaitTimeMs: 100 },
      handlers: { '*': (e) => void seen.push(e) },
    });
    try {
      const sent = await producer.emit({ node_id: 'stamper_node-001', event_type: 'NODE_START', correlation_id: 'https-flow', metadata: { input_state: { file: 'a.py' } } });
      await worker.start();
      const deadline = Date.now() + 30_000;
      while (seen.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(seen.map((e) => e.event_id)).toEqual([sent.eventId]);
    } finally {
      await Promise.allSettled([worker.stop(), producer.close()]);
    }
    // What the server logged at debug level (every request) never holds the password or the key.
    expect(output).toContain(`schema registry on ${url}`);
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));
    expect(output).not.toContain(certs.key.split('\n')[1]!);
  });
});
