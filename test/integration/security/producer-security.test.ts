import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyOnexEvent, SchemaVersion } from '../../../src/event/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import {
  EventSigner,
  EventVerifier,
  FieldCipher,
  LocalKeyringProvider,
  newKeyringEntry,
  readEnvelope,
  RecordSecurity,
  SECURITY_HEADERS,
  SecurityPolicy,
} from '../../../src/security/index.js';
import { createWorker, type Worker } from '../../../src/worker/index.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, readTopic, startPipeline, waitFor, type Pipeline } from '../worker/pipeline.js';

let p: Pipeline;
const running: Array<{ stop(): Promise<void> } | { close(): Promise<void> }> = [];
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  await Promise.allSettled(running.map((r) => ('stop' in r ? r.stop() : r.close())));
  await p?.close();
});

const provider = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k-prod')] });
const cipher = new FieldCipher({ provider });
const CARD = '4111 1111 1111 1111';
const policy = new SecurityPolicy({
  cipher,
  signer: new EventSigner({ provider, algorithm: 'hmac-sha256' }),
  encrypt: { NODE_FAILURE: ['metadata.input_state.card_number', 'metadata.error'] },
  sign: { nodes: ['payments_node-001'] },
});

function events(correlation: string): Record<string, unknown>[] {
  const failure = (node: string) => ({
    node_id: node,
    event_type: 'NODE_FAILURE',
    correlation_id: correlation,
    metadata: { input_state: { card_number: CARD }, error: 'card declined' },
  });
  const start = (node: string) => ({ node_id: node, event_type: 'NODE_START', correlation_id: correlation, metadata: { input_state: { file: 'a.py' } } });
  // Secured and plain events interleaved under one key: the plain ones must not overtake the secured ones.
  return [failure('payments_node-001'), start('stamper_node-001'), start('payments_node-001'), failure('stamper_node-001'), start('stamper_node-001')];
}

async function run(version: SchemaVersion, target: SchemaVersion): Promise<void> {
  const topic = uniqueTopic(`sec-producer-${version}`);
  await createTopic(p, topic);
  const producer = new OnexProducer({ kafka: p.kafka, codec: p.codec, topic, schemaVersion: version, metricsRegistry: new Registry(), security: policy });
  running.push(producer);
  const sent = events(randomUUID());
  const results = await Promise.all(sent.map((e) => producer.emit(e)));
  const ids = results.map((r) => r.eventId);

  // On the wire: no plaintext card number, signature headers exactly on the events of the signed node.
  const raw = await readTopic(p, topic, sent.length);
  expect(raw.map((r) => r.offset)).toEqual(['0', '1', '2', '3', '4']);
  for (const [i, r] of raw.entries()) {
    expect(r.value!.includes(Buffer.from(CARD))).toBe(false);
    expect(r.headers[SECURITY_HEADERS.signature] !== undefined).toBe(sent[i]!.node_id === 'payments_node-001');
  }

  const seen: AnyOnexEvent[] = [];
  const blind: AnyOnexEvent[] = [];
  const common = { kafka: p.kafka, decoder: p.codec, fromBeginning: true, topics: topic, consumer: { maxWaitTimeMs: 100 }, targetVersion: target };
  const w: Worker = createWorker({
    ...common,
    groupId: `g-${topic}`,
    metricsRegistry: new Registry(),
    security: new RecordSecurity({ verifier: new EventVerifier({ provider }), cipher, requireSignature: (e) => policy.signs(e) }),
    handlers: { '*': (event) => void seen.push(event) },
  });
  const blindFailures: string[] = [];
  const b: Worker = createWorker({
    ...common,
    groupId: `blind-${topic}`,
    deadLetter: false,
    metricsRegistry: new Registry(),
    handlers: { '*': (event) => void blind.push(event) },
    onFailure: (f) => void blindFailures.push(f.error.code),
  });
  running.push(w, b);
  await Promise.all([w.start(), b.start()]);
  // A keyless 1.x reader of 2.0.0 events cannot have the encrypted ones: 1.x cannot mark encrypted fields.
  const downcastBlind = version === '2.0.0' && target !== '2.0.0';
  await waitFor('every event handled by both workers', () => seen.length === sent.length && blind.length + blindFailures.length === sent.length, 30_000);
  expect(seen.map((e) => e.event_id)).toEqual(ids);
  expect(w.stats()).toMatchObject({ handled: sent.length, deadLettered: 0 });
  expect(seen.every((e) => (e as { schema_version?: string }).schema_version === target)).toBe(true);
  expect(blindFailures).toEqual(downcastBlind ? ['ONEX_SCHEMA_702', 'ONEX_SCHEMA_702'] : []);
  for (const i of [0, 3]) {
    const m = (seen[i] as unknown as { metadata: { input_state: { card_number: string }; error: string } }).metadata;
    expect(m).toMatchObject({ input_state: { card_number: CARD }, error: 'card declined' });
    if (downcastBlind) continue;
    const card = (blind[i] as unknown as { metadata: { input_state: { card_number: unknown } } }).metadata.input_state.card_number;
    expect(readEnvelope(card)?.kid).toBe('k-prod');
  }
  await Promise.all([w.stop(), b.stop(), producer.close()]);
}

describe('the producer security policy, on the real broker', () => {
  it('1.3.0: encrypts the NODE_FAILURE fields, signs the node\'s events in emit order; a worker with the keys verifies and decrypts', async () => {
    await run('1.3.0', '1.3.0');
  });

  it('2.0.0 written, read at 2.0.0', async () => {
    await run('2.0.0', '2.0.0');
  });

  it('2.0.0 written, read by a 1.3.0 worker: decrypted at the writer version, then downcast (not ONEX_SCHEMA_702)', async () => {
    await run('2.0.0', '1.3.0');
  });

  it('1.3.0 written, read by a 2.0.0 worker: decrypted, then upcast', async () => {
    await run('1.3.0', '2.0.0');
  });
});
