import { randomUUID } from 'node:crypto';
import pino from 'pino';
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
import { createWorker, DLQ_HEADERS, headerText, readDeadLetterHeaders, redriveDeadLetters, type Worker } from '../../../src/worker/index.js';
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

describe('dead-letter redrive through security, on the real broker', () => {
  it('letters dead-lettered for a key the worker lacked are verified and decrypted after the redrive; a tampered one is dead-lettered again, now as a bad signature; no key or plaintext in logs, errors, headers or metrics', async () => {
    const topic = uniqueTopic('security-redrive');
    await createTopic(p, topic);
    // The writers rotated to k2; the worker's keyring still holds k1 only, so k2's events are unknown-key letters.
    const k1 = newKeyringEntry(new Date(Date.now() - 120_000), 'k1');
    const k2 = newKeyringEntry(new Date(Date.now() - 60_000), 'k2');
    const writerKeys = new LocalKeyringProvider({ keys: [k1, k2] });
    const staleKeys = new LocalKeyringProvider({ keys: [k1] });
    const writerCipher = new FieldCipher({ provider: writerKeys });
    const writerSigner = new EventSigner({ provider: writerKeys, algorithm: 'hmac-sha256' });
    const CARD = `4111 ${randomUUID()}`;
    const make = async (): Promise<{ id: string; input: Input & { value: Buffer } }> => {
      const event = await encryptEventFields({ ...failure('1.3.0'), metadata: { input_state: { card_number: CARD }, error: 'card declined' } }, PATHS, writerCipher, '1.3.0');
      const value = p.codec.encode(event, '1.3.0');
      return { id: event.event_id, input: { key: event.event_id, value, headers: await signatureHeaders(writerSigner, value, { eventType: 'NODE_FAILURE', schemaVersion: '1.3.0' }) } };
    };
    const good = [await make(), await make()];
    const tampered = await make();
    tampered.input.value[tampered.input.value.indexOf('payments_node')] = 'q'.charCodeAt(0);
    await produce(p, topic, [good[0]!.input, tampered.input, good[1]!.input]);

    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const metrics = new Registry();
    const handled = new Map<string, AnyOnexEvent>();
    const start = (provider: LocalKeyringProvider) =>
      createWorker({
        kafka: p.kafka,
        decoder: p.codec,
        fromBeginning: true,
        topics: topic,
        groupId: `g-${topic}`,
        consumer: { maxWaitTimeMs: 100 },
        retry: { initialBackoffMs: 20, maxBackoffMs: 100 },
        logger: log,
        metricsRegistry: metrics,
        security: new RecordSecurity({ verifier: new EventVerifier({ provider }), cipher: new FieldCipher({ provider }), requireSignature: () => true }),
        handlers: { '*': (event) => void handled.set(event.event_id, event) },
      });
    const stale = start(staleKeys);
    running.push(stale);
    await stale.start();
    const first = await readTopic(p, `${topic}.dlq`, 3);
    expect(first.map((r) => headerText(r.headers, DLQ_HEADERS.errorCode))).toEqual(['ONEX_EVENT_630', 'ONEX_EVENT_630', 'ONEX_EVENT_630']);
    await stale.stop();
    expect(handled.size).toBe(0);

    // The keyring gains k2; the redrive republishes the letters byte for byte, the worker reads them as any record.
    const fixed = start(writerKeys);
    running.push(fixed);
    await fixed.start();
    const result = await redriveDeadLetters({ kafka: p.kafka, deadLetterTopic: `${topic}.dlq`, groupId: `redrive-${topic}`, logger: log });
    expect(result).toEqual({ redriven: 3, skipped: 0, byCode: { ONEX_EVENT_630: 3 } });
    await waitFor('the redriven good events', () => handled.size === 2, 30_000);
    const again = await readTopic(p, `${topic}.dlq`, 4);
    const last = again[3]!;
    expect(headerText(last.headers, DLQ_HEADERS.errorCode)).toBe('ONEX_EVENT_606');
    expect(readDeadLetterHeaders(last.headers).redrives).toBe(1);
    expect(last.value?.equals(tampered.input.value)).toBe(true);
    expect([...handled.keys()].sort()).toEqual(good.map((g) => g.id).sort());
    for (const event of handled.values()) expect((event.metadata as { input_state: { card_number: string } }).input_state.card_number).toBe(CARD);
    expect(fixed.stats()).toMatchObject({ handled: 2, deadLettered: 1 });
    await fixed.stop();

    // Everything the run said: log lines at debug, the dead-letter headers (reasons included), the metrics page.
    const said = [
      ...lines,
      ...again.flatMap((r) => Object.entries(r.headers ?? {}).map(([name, value]) => `${name}=${String(value)}`)),
      await metrics.metrics(),
    ].join('\n');
    expect(lines.length).toBeGreaterThan(5);
    expect(said).toContain('ONEX_EVENT_630');
    for (const secret of [k1.secret, k2.secret, Buffer.from(k1.secret, 'base64').toString('hex'), Buffer.from(k2.secret, 'base64').toString('hex'), CARD]) {
      expect(said.includes(secret), 'a key or a plaintext field shows in the output').toBe(false);
    }
  });
});
