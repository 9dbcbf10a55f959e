import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecord } from '../../../src/replay/index.js';
import { encryptEventFields, EventSigner, EventVerifier, FieldCipher, LocalKeyringProvider, newKeyringEntry, RecordSecurity, signatureHeaders } from '../../../src/security/index.js';
import { DLQ_HEADERS, headerText } from '../../../src/worker/index.js';
import { runOnex, spawnOnex, type OnexChild } from '../../support/cli.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, produce, readTopic, startPipeline, waitFor, type Input, type Pipeline } from '../worker/pipeline.js';

const RECORDER = fileURLToPath(new URL('../../fixtures/handlers/record-metadata.mjs', import.meta.url));
const CARD = '4111 1111 1111 1111';

let p: Pipeline;
let dir: string;
const running: OnexChild[] = [];
beforeAll(async () => {
  p = await startPipeline();
  dir = mkdtempSync(join(tmpdir(), 'onex-cli-security-'));
});
afterAll(async () => {
  for (const { child } of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await p?.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, KAFKA_BROKERS: p.brokers, SCHEMA_REGISTRY_URL: p.registry.url, ONEX_LOG_LEVEL: 'error', ...extra };
}

/** A NODE_FAILURE in 1.3.0 whose card number is encrypted, signed unless `sign` is false; in flow `flow` if given. */
async function failure(provider: LocalKeyringProvider, sign: boolean, flow = randomUUID()): Promise<{ id: string; input: Input }> {
  const event = await encryptEventFields(
    {
      event_id: randomUUID(),
      timestamp: '2026-05-25T14:17:21.178483Z',
      node_id: 'payments_node-001',
      event_type: 'NODE_FAILURE',
      correlation_id: flow,
      schema_version: '1.3.0',
      metadata: { input_state: { card_number: CARD }, error: 'card declined' },
    },
    ['metadata.input_state.card_number'],
    new FieldCipher({ provider }),
    '1.3.0',
  );
  const value = p.codec.encode(event, '1.3.0');
  const headers = sign ? await signatureHeaders(new EventSigner({ provider }), value, { eventType: 'NODE_FAILURE', schemaVersion: '1.3.0' }) : {};
  return { id: event.event_id, input: { key: event.event_id, value, headers } };
}

/** A keyring made by `onex keys rotate` (its key active since a minute ago) and a security rule file, in `dir`. */
async function keysAndRules(name: string, rulesYaml: string): Promise<{ keyring: string; provider: LocalKeyringProvider; rules: string }> {
  const keyring = join(dir, `${name}-keyring.json`);
  const rotated = await runOnex(['keys', 'rotate', '--keyring', keyring, '--active-from', new Date(Date.now() - 60_000).toISOString()], { env: env() });
  expect(rotated.code, rotated.stderr).toBe(0);
  const rules = join(dir, `${name}-rules.yaml`);
  writeFileSync(rules, rulesYaml);
  return { keyring, provider: new LocalKeyringProvider(JSON.parse(readFileSync(keyring, 'utf8'))), rules };
}

describe('onex worker and onex replay --keyring --security-rules', () => {
  it('verifies and decrypts before the handlers, and dead-letters an unsigned event the rule file says must be signed', async () => {
    const { keyring, provider, rules } = await keysAndRules('worker', 'sign:\n  event_types: [NODE_FAILURE]\n');

    const topic = uniqueTopic('cli-secured');
    await createTopic(p, topic);
    await createTopic(p, `${topic}.dlq`);
    const signed = [await failure(provider, true), await failure(provider, true)];
    const unsigned = await failure(provider, false);
    await produce(p, topic, [signed[0]!.input, unsigned.input, signed[1]!.input]);

    const out = join(dir, 'handled.jsonl');
    const args = ['worker', '--topic', topic, '--group', `g-${topic}`, '--from-beginning', '--handlers', RECORDER, '--keyring', keyring, '--security-rules', rules];
    const worker = spawnOnex(args, { env: env({ ONEX_TEST_RECORD_FILE: out }) });
    running.push(worker);

    const handled = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event_id: string; metadata: Record<string, unknown> }) : []);
    await waitFor('both signed events handled', () => handled().length >= 2, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; the worker said: ${worker.stderr()}`);
    });
    const dlq = await readTopic(p, `${topic}.dlq`, 1);
    worker.child.kill('SIGTERM');
    expect(await worker.exited, worker.stderr()).toBe(0);

    expect(handled().map((e) => e.event_id)).toEqual(signed.map((s) => s.id));
    // Handlers see 2.0.0 metadata: the 1.x field the typed record does not name sits in its extra map, in plaintext.
    for (const e of handled()) expect(JSON.stringify(e.metadata)).toContain(CARD);
    expect(dlq.map((r) => headerText(r.headers, DLQ_HEADERS.errorCode))).toEqual(['ONEX_EVENT_632']);
    expect(dlq[0]!.key?.toString()).toBe(unsigned.id);
  });

  it('onex replay --keyring --security-rules reads as the worker does and writes the copies encrypted and signed anew', async () => {
    const { keyring, provider, rules } = await keysAndRules('replay', 'sensitive:\n  NODE_FAILURE: [metadata.input_state.card_number]\nsign:\n  event_types: [NODE_FAILURE]\n');

    const source = uniqueTopic('cli-replay-src');
    const target = uniqueTopic('cli-replay-out');
    await createTopic(p, source);
    await createTopic(p, target);
    const flow = randomUUID();
    const signed = await failure(provider, true, flow);
    const unsigned = await failure(provider, false, flow);
    await produce(p, source, [signed.input, unsigned.input].map((i) => ({ ...i, key: flow })));

    const replay = (extra: string[]) =>
      runOnex(['replay', '--topic', source, '--correlation-id', flow, '--to-topic', target, '--speed', 'max', '--keyring', keyring, ...extra], { env: env() });
    // Without the rule file no signature is required and both decrypt, but nothing says how to encrypt the copies
    // again: neither is written, in plaintext or at all.
    const policyless = await replay(['--dry-run']);
    expect(policyless.code, policyless.stderr).toBe(0);
    expect(JSON.parse(policyless.stdout)).toMatchObject({ count: 0, skipped: { ONEX_EVENT_638: 2 } });

    const r = await replay(['--security-rules', rules]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ count: 1, emitted: 1, skipped: { ONEX_EVENT_632: 1 } });
    const [copy] = await readTopic(p, target, 1);
    expect(copy!.value!.includes(Buffer.from(CARD))).toBe(false);
    const strict = new RecordSecurity({ verifier: new EventVerifier({ provider }), cipher: new FieldCipher({ provider }), requireSignature: () => true });
    const event = (await decodeRecord(p.codec, copy!.value!, copy!.headers, '2.0.0', strict)).decoded.event as { event_id: string; replay: { original_event_id: string } };
    expect(event.replay.original_event_id).toBe(signed.id);
    expect(event.event_id).not.toBe(signed.id);
    expect(JSON.stringify(event)).toContain(CARD);
  });

  it('a rule file without a keyring is one ONEX line and exit 1, before it connects', async () => {
    const rules = join(dir, 'only-rules.yaml');
    writeFileSync(rules, 'sign: true\n');
    const r = await runOnex(['worker', '--topic', 't', '--group', 'g', '--handlers', RECORDER, '--security-rules', rules], { env: env({ ONEX_KEYRING: '' }) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^ONEX_CLI_300: --security-rules needs --keyring/);
  });
});
