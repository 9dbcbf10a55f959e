import { createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { transformEvent } from '../../../src/schema/index.js';
import {
  decryptEventFields,
  encryptEventFields,
  EventSigner,
  EventVerifier,
  FieldCipher,
  type KeyringFile,
  LocalKeyringProvider,
  newKeyringEntry,
  readEnvelope,
} from '../../../src/security/index.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const keyring: KeyringFile = { rotation_window_ms: 7 * DAY, keys: [newKeyringEntry(new Date(T0), 'k1')] };

function failure(id = '00000000-0000-4000-8000-000000000001') {
  return {
    event_id: id,
    timestamp: '2026-01-02T00:00:00.000000Z',
    node_id: 'tree_node-001',
    event_type: 'NODE_FAILURE',
    correlation_id: null,
    schema_version: '1.3.0',
    metadata: { input_state: { card_number: '4111 1111 1111 1111' }, error: 'boom' },
  };
}

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('field encryption', () => {
  it('round-trips through 1.x, upcasting to 2.0.0 and back, calling the provider once per key period', async () => {
    const provider = new LocalKeyringProvider(keyring);
    let wraps = 0;
    const wrap = provider.wrap.bind(provider);
    provider.wrap = async (id, key) => (wraps++, wrap(id, key));
    let now = T0 + DAY;
    const cipher = new FieldCipher({ provider, clock: () => now });
    const paths = ['metadata.input_state.card_number', 'metadata.error'];
    const v1 = await encryptEventFields(failure(), paths, cipher, '1.3.0');
    const card = (v1.metadata.input_state as Record<string, unknown>).card_number;
    expect(readEnvelope(card)?.kid).toBe('k1');
    expect(JSON.stringify(v1)).not.toContain('4111');
    const v2 = transformEvent(v1, '2.0.0') as unknown as ReturnType<typeof failure>;
    expect((await decryptEventFields(v2, cipher)).metadata).toMatchObject(failure().metadata);
    const back = transformEvent(v2, '1.3.0') as unknown as ReturnType<typeof failure>;
    expect((await decryptEventFields(back, cipher)).metadata).toEqual(failure().metadata);
    await encryptEventFields(failure(), paths, cipher, '1.3.0');
    expect(wraps).toBe(1);
    now += 2 * 3_600_000;
    await encryptEventFields(failure(), paths, cipher, '1.3.0');
    expect(wraps).toBe(2);
  });

  it('writes 2.0.0 ciphertexts as text and lists them in the security block', async () => {
    const cipher = new FieldCipher({ provider: new LocalKeyringProvider(keyring), clock: () => T0 + DAY });
    const v2 = transformEvent(failure(), '2.0.0') as unknown as Record<string, unknown> & ReturnType<typeof failure>;
    const enc = await encryptEventFields(v2, ['metadata.error'], cipher, '2.0.0');
    expect(typeof enc.metadata.error).toBe('string');
    expect(enc.security).toMatchObject({ key_id: 'k1', encrypted_fields: ['metadata.error'] });
    expect((await decryptEventFields(enc, cipher)).metadata.error).toBe('boom');
  });

  it('refuses a ciphertext moved to another field or another event', async () => {
    const cipher = new FieldCipher({ provider: new LocalKeyringProvider(keyring), clock: () => T0 + DAY });
    const a = await encryptEventFields(failure(), ['metadata.input_state.card_number', 'metadata.error'], cipher, '1.3.0');
    const swapped = structuredClone(a);
    swapped.metadata.error = a.metadata.input_state.card_number as never;
    expect(await code(decryptEventFields(swapped, cipher))).toBe('ONEX_EVENT_607');
    const other = { ...structuredClone(a), event_id: '00000000-0000-4000-8000-000000000002' };
    expect(await code(decryptEventFields(other, cipher))).toBe('ONEX_EVENT_607');
  });

  it('decrypts under the previous key inside the rotation window and refuses it after', async () => {
    let now = T0 + DAY;
    const old = new FieldCipher({ provider: new LocalKeyringProvider(keyring), clock: () => now });
    const enc = await encryptEventFields(failure(), ['metadata.error'], old, '1.3.0');
    const rotated = new LocalKeyringProvider({ ...keyring, keys: [...keyring.keys, newKeyringEntry(new Date(T0 + 2 * DAY), 'k2')] });
    now = T0 + 3 * DAY;
    const cipher = new FieldCipher({ provider: rotated, clock: () => now });
    expect(readEnvelope((await encryptEventFields(failure(), ['metadata.error'], cipher, '1.3.0')).metadata.error)?.kid).toBe('k2');
    expect((await decryptEventFields(enc, cipher)).metadata.error).toBe('boom');
    now = T0 + 9 * DAY + 1;
    const late = new FieldCipher({ provider: rotated, clock: () => now });
    expect(await code(decryptEventFields(enc, late))).toBe('ONEX_EVENT_631');
    const stranger = new FieldCipher({ provider: new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(T0), 'other')] }) });
    expect(await code(decryptEventFields(enc, stranger))).toBe('ONEX_EVENT_630');
  });

  it('rejects bad keyrings with ONEX_RT_440', () => {
    expect(() => new LocalKeyringProvider({ keys: [] })).toThrow(expect.objectContaining({ code: 'ONEX_RT_440' }));
    expect(() => new LocalKeyringProvider({ keys: [{ id: 'x', active_from: 'now', secret: 'AA==' }] })).toThrow(/active_from/);
    expect(() => new LocalKeyringProvider({ keys: [{ id: 'x', active_from: '2026-01-01', secret: 'AA==' }] })).toThrow(/32 bytes/);
    expect(() => LocalKeyringProvider.fromEnv('ONEX_TEST_NO_SUCH_KEYRING')).toThrow(/ONEX_TEST_NO_SUCH_KEYRING/);
  });
});

describe('signing', () => {
  const body = Buffer.from('avro body bytes');
  const facts = { eventType: 'NODE_FAILURE', schemaVersion: '2.0.0' };

  for (const algorithm of ['ed25519', 'hmac-sha256'] as const) {
    it(`${algorithm}: verifies, and refuses a changed body byte, a changed header and an unknown key`, async () => {
      const provider = new LocalKeyringProvider(keyring);
      const verifier = new EventVerifier({ provider });
      const sig = await new EventSigner({ provider, algorithm }).sign(body, facts);
      expect(sig.algorithm).toBe(algorithm);
      expect(await verifier.verify(body, sig, true)).toBe(true);
      const tampered = Buffer.from(body);
      tampered[3] = tampered[3]! ^ 1;
      expect(await code(verifier.verify(tampered, sig, true))).toBe('ONEX_EVENT_606');
      expect(await code(verifier.verify(body, { ...sig, eventType: 'NODE_SUCCESS' }, true))).toBe('ONEX_EVENT_606');
      const stranger = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(T0), 'rogue')] });
      const resigned = await new EventSigner({ provider: stranger, algorithm }).sign(body, facts);
      expect(await code(verifier.verify(body, resigned, true))).toBe('ONEX_EVENT_630');
    });
  }

  it('hmac-sha256 is HMAC-SHA256 under the key derived from the keyring secret (HKDF, "onex hmac"): the bytes signatures already written carry', () => {
    const provider = new LocalKeyringProvider(keyring);
    const key = Buffer.from(hkdfSync('sha256', Buffer.from(keyring.keys[0]!.secret, 'base64'), Buffer.alloc(0), 'onex hmac', 32));
    // Longer and shorter messages in turn (the scratch the digests use grows, and past 64 KiB is not used).
    const signatures: Uint8Array[] = [];
    for (const length of [0, 1, 64, 450, 5000, 3, 70_000, 2000]) {
      const data = Buffer.alloc(length, length % 251);
      const expected = createHmac('sha256', key).update(data).digest();
      const signature = provider.signSync('k1', 'hmac-sha256', data);
      signatures.push(signature);
      expect(Buffer.from(signature)).toEqual(expected);
      expect(provider.verifySync('k1', 'hmac-sha256', data, expected)).toBe(true);
      expect(provider.verifySync('k1', 'hmac-sha256', Buffer.concat([data, Buffer.from([1])]), expected)).toBe(false);
      expect(provider.verifySync('k1', 'hmac-sha256', data, expected.subarray(0, 31))).toBe(false);
    }
    // Each signature is its own buffer, not overwritten by the next.
    expect(Buffer.from(signatures[0]!)).toEqual(createHmac('sha256', key).update(Buffer.alloc(0)).digest());
  });

  it('verifies under the previous key inside the rotation window and refuses it after (ONEX_EVENT_631)', async () => {
    let now = T0 + DAY;
    const body = Buffer.from('record value');
    const facts = { eventType: 'NODE_FAILURE', schemaVersion: '1.3.0' };
    const signed = await new EventSigner({ provider: new LocalKeyringProvider(keyring), algorithm: 'hmac-sha256', clock: () => now }).sign(body, facts);
    const rotated = new LocalKeyringProvider({ ...keyring, keys: [...keyring.keys, newKeyringEntry(new Date(T0 + 2 * DAY), 'k2')] });
    now = T0 + 3 * DAY;
    expect((await new EventSigner({ provider: rotated, algorithm: 'hmac-sha256', clock: () => now }).sign(body, facts)).keyId).toBe('k2');
    expect(await new EventVerifier({ provider: rotated, clock: () => now }).verify(body, signed, true)).toBe(true);
    now = T0 + 9 * DAY + 1;
    expect(await code(new EventVerifier({ provider: rotated, clock: () => now }).verify(body, signed, true))).toBe('ONEX_EVENT_631');
  });

  it('a missing signature is ONEX_EVENT_632 only when signing is required', async () => {
    const verifier = new EventVerifier({ provider: new LocalKeyringProvider(keyring) });
    expect(await code(verifier.verify(body, undefined, true))).toBe('ONEX_EVENT_632');
    expect(await verifier.verify(body, undefined, false)).toBe(false);
  });
});
