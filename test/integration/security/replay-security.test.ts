import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SchemaVersion } from '../../../src/event/index.js';
import { decodeRecord, runReplay } from '../../../src/replay/index.js';
import {
  encryptEventFields,
  EventSigner,
  EventVerifier,
  FieldCipher,
  LocalKeyringProvider,
  newKeyringEntry,
  RecordSecurity,
  SECURITY_HEADERS,
  SecurityPolicy,
  signatureHeaders,
} from '../../../src/security/index.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, produce, readTopic, startPipeline, type Input, type Pipeline } from '../worker/pipeline.js';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  await p?.close();
});

const provider = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k-replay')] });
const cipher = new FieldCipher({ provider });
const signer = new EventSigner({ provider, algorithm: 'hmac-sha256' });
const CARD = '4111 1111 1111 1111';
const PATHS = ['metadata.input_state.card_number', 'metadata.error'];
const PAYMENTS = 'payments_node-001';
const verifying = () => new RecordSecurity({ verifier: new EventVerifier({ provider }), cipher, requireSignature: (e) => e.node_id === PAYMENTS });

function event(flow: string, type: 'NODE_FAILURE' | 'NODE_START', version: SchemaVersion, i: number): Record<string, unknown> & { event_id: string; event_type: string } {
  return {
    event_id: randomUUID(),
    timestamp: `2026-05-25T14:17:2${i}.000000Z`,
    node_id: PAYMENTS,
    event_type: type,
    correlation_id: flow,
    schema_version: version,
    metadata: type === 'NODE_FAILURE' ? { input_state: { card_number: CARD }, error: 'card declined' } : { input_state: { file: 'a.py' } },
  };
}

async function record(e: Record<string, unknown> & { event_id: string; event_type: string }, version: SchemaVersion, encrypt: boolean): Promise<Input & { value: Buffer }> {
  const written = encrypt ? await encryptEventFields(e, PATHS, cipher, version) : e;
  const value = p.codec.encode(written, version);
  const headers = await signatureHeaders(signer, value, { eventType: e.event_type, schemaVersion: version });
  return { key: e.correlation_id as string, value, headers };
}

describe('replay verifies and decrypts as the worker does, on the real broker', () => {
  it('replays good secured events (re-encrypted and re-signed under the copy), skips bad ones by code and goes on; keyless or policy-less replays write no plaintext', async () => {
    const source = uniqueTopic('replay-sec-src');
    const target = uniqueTopic('replay-sec-out');
    await createTopic(p, source);
    await createTopic(p, target);
    const flow = randomUUID();
    const good13 = event(flow, 'NODE_FAILURE', '1.3.0', 0);
    const good20 = event(flow, 'NODE_FAILURE', '2.0.0', 1);
    const start = event(flow, 'NODE_START', '2.0.0', 2);
    const tampered = await record(event(flow, 'NODE_FAILURE', '1.3.0', 3), '1.3.0', true);
    tampered.value[tampered.value.indexOf('payments_node')] = 'q'.charCodeAt(0);
    // A ciphertext moved to another event (bound to the first one's event_id), the record signed correctly.
    const moved = { ...(await encryptEventFields(event(flow, 'NODE_FAILURE', '1.3.0', 4), PATHS, cipher, '1.3.0')), event_id: randomUUID() };
    const unsigned = await record(event(flow, 'NODE_FAILURE', '2.0.0', 5), '2.0.0', true);
    unsigned.headers = {};
    await produce(p, source, [
      await record(good13, '1.3.0', true),
      tampered,
      await record(good20, '2.0.0', true),
      await record(moved, '1.3.0', false),
      unsigned,
      await record(start, '2.0.0', false),
    ]);

    const common = { kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: target, selection: { correlationId: flow }, speed: 'max' as const };
    const bad = { ONEX_EVENT_606: 1, ONEX_EVENT_607: 1, ONEX_EVENT_632: 1 };
    const policy = new SecurityPolicy({ cipher, signer, encrypt: { NODE_FAILURE: PATHS }, sign: true });
    const summary = await runReplay({ ...common, security: verifying(), emitSecurity: policy });
    expect(summary).toMatchObject({ count: 3, emitted: 3, failed: 0, records_read: 6, skipped: bad });

    // The copies: no plaintext card on the wire, signed; a reader with the keys (the worker's check, signature
    // required on every record) gets the plaintext back under the copy's own event id.
    const out = await readTopic(p, target, 3);
    const strict = new RecordSecurity({ verifier: new EventVerifier({ provider }), cipher, requireSignature: () => true });
    const copies = [];
    for (const r of out) {
      expect(r.value!.includes(Buffer.from(CARD))).toBe(false);
      expect(r.headers[SECURITY_HEADERS.signature]).toBeDefined();
      copies.push((await decodeRecord(p.codec, r.value!, r.headers, '2.0.0', strict)).decoded.event as Record<string, any>);
    }
    expect(copies.map((c) => c.replay.original_event_id)).toEqual([good13.event_id, good20.event_id, start.event_id]);
    for (const c of copies.slice(0, 2)) {
      expect(c.event_id).not.toBe(c.replay.original_event_id);
      expect(c.metadata).toMatchObject({ input_state: { card_number: CARD }, error: 'card declined' });
    }

    // Into 1.3.0: the 2.0.0 event is decrypted at its own version, then downcast (not ONEX_SCHEMA_702).
    const downcast = await runReplay({ ...common, security: verifying(), emitSecurity: policy, targetVersion: '1.3.0', dryRun: true });
    expect(downcast).toMatchObject({ count: 3, skipped: bad });
    // With the keys but no policy for the copies: the decrypted events are not replayed in plaintext.
    const plain = await runReplay({ ...common, security: verifying(), dryRun: true });
    expect(plain).toMatchObject({ count: 1, skipped: { ...bad, ONEX_EVENT_638: 2 } });
    // Without the keys: the copies' ciphertexts would be bound to the originals' ids, so no encrypted event goes.
    const keyless = await runReplay({ ...common, dryRun: true });
    expect(keyless).toMatchObject({ count: 1, skipped: { ONEX_EVENT_637: 5 } });
  });
});
