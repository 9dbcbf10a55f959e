import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyOnexEvent } from '../../../src/event/index.js';
import {
  encryptEventFields,
  EventSigner,
  EventVerifier,
  FieldCipher,
  LocalKeyringProvider,
  newKeyringEntry,
  readEnvelope,
  RecordSecurity,
  SECURITY_HEADERS,
  signatureHeaders,
} from '../../../src/security/index.js';
import { createWorker, DLQ_HEADERS, headerText, type Worker } from '../../../src/worker/index.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, produce, readTopic, startPipeline, waitFor, type Input, type Pipeline } from '../worker/pipeline.js';

let p: Pipeline;
const running: Worker[] = [];
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  await Promise.allSettled(running.map((w) => w.stop()));
  await p?.close();
});

const provider = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k1')] });
const rogue = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k-rogue')] });
const cipher = new FieldCipher({ provider });
const signer = new EventSigner({ provider });
const PATHS = ['metadata.input_state.card_number', 'metadata.error'];

function failure(version: '1.3.0' | '2.0.0', node = 'payments_node-001'): Record<string, unknown> & { event_id: string; event_type: string } {
  const base = {
    event_id: randomUUID(),
    timestamp: '2026-05-25T14:17:21.178483Z',
    node_id: node,
    event_type: 'NODE_FAILURE',
    correlation_id: randomUUID(),
    schema_version: version,
    metadata: { input_state: { card_number: '4111 1111 1111 1111' }, error: 'card declined' },
  };
  return base;
}

async function secured(version: '1.3.0' | '2.0.0', sign = signer, node?: string): Promise<{ id: string; input: Input & { value: Buffer } }> {
  const event = await encryptEventFields(failure(version, node), PATHS, cipher, version);
  const value = p.codec.encode(event, version);
  const headers = await signatureHeaders(sign, value, { eventType: 'NODE_FAILURE', schemaVersion: version });
  return { id: event.event_id, input: { key: event.event_id, value, headers } };
}

describe('security in the worker, on the real broker', () => {
  it('decrypts 1.x and 2.0.0 encrypted fields across upcasting; tampering, header changes, unknown keys and missing signatures are dead-lettered with their code', async () => {
    const topic = uniqueTopic('security');
    await createTopic(p, topic);
    const good13 = await secured('1.3.0');
    const good20 = await secured('2.0.0');
    const tampered = await secured('1.3.0');
    const at = tampered.input.value.indexOf('payments_node');
    tampered.input.value[at] = 'q'.charCodeAt(0);
    const changedHeader = await secured('2.0.0');
    changedHeader.input.headers = { ...changedHeader.input.headers, [SECURITY_HEADERS.algorithm]: 'hmac-sha256' };
    const resigned = await secured('1.3.0', new EventSigner({ provider: rogue }));
    const unsigned = await secured('1.3.0');
    unsigned.input.headers = {};
    const poison = [
      { code: 'ONEX_EVENT_606', x: tampered },
      { code: 'ONEX_EVENT_606', x: changedHeader },
      { code: 'ONEX_EVENT_630', x: resigned },
      { code: 'ONEX_EVENT_632', x: unsigned },
    ];
    await produce(p, topic, [good13.input, ...poison.map((q) => q.x.input), good20.input]);

    const seen = new Map<string, AnyOnexEvent>();
    const blind: AnyOnexEvent[] = [];
    const common = { kafka: p.kafka, decoder: p.codec, fromBeginning: true, topics: topic, consumer: { maxWaitTimeMs: 100 }, retry: { initialBackoffMs: 20, maxBackoffMs: 100 } };
    const w = createWorker({
      ...common,
      groupId: `g-${topic}`,
      metricsRegistry: new Registry(),
      targetVersion: '2.0.0',
      security: new RecordSecurity({ verifier: new EventVerifier({ provider }), cipher, requireSignature: (e) => e.node_id === 'payments_node-001' }),
      handlers: { '*': (event) => void seen.set(event.event_id, event) },
    });
    // A consumer without the keys: it sees the ciphertext envelopes and does not crash.
    const b = createWorker({ ...common, groupId: `blind-${topic}`, metricsRegistry: new Registry(), deadLetter: false, targetVersion: '2.0.0', handlers: { '*': (event) => void blind.push(event) } });
    running.push(w, b);
    await Promise.all([w.start(), b.start()]);
    const dlq = await readTopic(p, `${topic}.dlq`, poison.length);
    await waitFor('both good events handled', () => seen.size === 2 && blind.length === 6, 30_000);
    expect(dlq.map((r) => headerText(r.headers, DLQ_HEADERS.errorCode))).toEqual(poison.map((q) => q.code));
    for (const id of [good13.id, good20.id]) {
      const event = seen.get(id) as unknown as { schema_version: string; metadata: { input_state: { card_number: string }; error: string } };
      expect(event.schema_version).toBe('2.0.0');
      expect(event.metadata.input_state.card_number).toBe('4111 1111 1111 1111');
      expect(event.metadata.error).toBe('card declined');
    }
    const blindCard = (blind[0] as unknown as { metadata: { input_state: { card_number: unknown } } }).metadata.input_state.card_number;
    expect(readEnvelope(blindCard)?.kid).toBe('k1');
    expect(w.stats()).toMatchObject({ handled: 2, deadLettered: 4 });
  });
});
