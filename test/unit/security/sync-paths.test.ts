import { describe, expect, it } from 'vitest';
import {
  decryptEventFieldsNow,
  encryptEventFieldsNow,
  EventSigner,
  EventVerifier,
  FieldCipher,
  LocalKeyringProvider,
  newKeyringEntry,
  RecordSecurity,
  SECURITY_HEADERS,
} from '../../../src/security/index.js';

const provider = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k1')] });
const rogue = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k1')] });
const facts = { eventType: 'NODE_FAILURE', schemaVersion: '1.3.0' };
const event = () => ({ event_id: 'e-1', event_type: 'NODE_FAILURE', metadata: { input_state: { card: '4111' }, error: 'declined' } });
const PATHS = ['metadata.input_state.card'];

describe('synchronous security paths (no promise once the keys are cached)', () => {
  it('encrypt/decrypt: a promise only until the data key exists, then plain values; same result either way', async () => {
    const cipher = new FieldCipher({ provider });
    const first = encryptEventFieldsNow(event(), PATHS, cipher, '1.3.0');
    expect(first).toBeInstanceOf(Promise);
    const sealed = await first;
    const again = encryptEventFieldsNow(event(), PATHS, cipher, '1.3.0');
    expect(again).not.toBeInstanceOf(Promise);
    const reader = new FieldCipher({ provider });
    const opened = decryptEventFieldsNow(sealed, reader);
    expect(opened).toBeInstanceOf(Promise);
    expect(await opened).toEqual(event());
    expect(decryptEventFieldsNow(again as ReturnType<typeof event>, reader)).toEqual(event());
    // A moved ciphertext fails the same way on the synchronous path.
    expect(() => decryptEventFieldsNow({ ...(again as ReturnType<typeof event>), event_id: 'e-2' }, reader)).toThrow(expect.objectContaining({ code: 'ONEX_EVENT_607' }));
  });

  it('inPlace decrypts into the event itself (a promise or not), and a field that does not open leaves it unchanged', async () => {
    const cipher = new FieldCipher({ provider });
    const twoFields = ['metadata.input_state.card', 'metadata.error'];
    const sealed = (await encryptEventFieldsNow(event(), twoFields, cipher, '1.3.0')) as ReturnType<typeof event>;
    // Without inPlace the caller's event is left as it was.
    const copy = structuredClone(sealed);
    expect(await decryptEventFieldsNow(copy, cipher)).toEqual(event());
    expect(copy).toEqual(sealed);
    const owned = structuredClone(sealed);
    const inner = owned.metadata.input_state;
    expect(decryptEventFieldsNow(owned, cipher, { inPlace: true })).toBe(owned);
    expect(owned).toEqual(event());
    expect(owned.metadata.input_state).toBe(inner);
    // The first time a reader sees the data key it takes a promise; the result is the same.
    const later = structuredClone(sealed);
    const opened = decryptEventFieldsNow(later, new FieldCipher({ provider }), { inPlace: true });
    expect(opened).toBeInstanceOf(Promise);
    expect(await opened).toBe(later);
    expect(later).toEqual(event());
    // The second field moved from another event: nothing is put in, not even the first field's value.
    const other = (await encryptEventFieldsNow({ ...event(), event_id: 'e-2' }, twoFields, cipher, '1.3.0')) as ReturnType<typeof event>;
    const mixed = structuredClone(sealed);
    mixed.metadata.error = other.metadata.error;
    const before = structuredClone(mixed);
    expect(() => decryptEventFieldsNow(mixed, cipher, { inPlace: true })).toThrow(expect.objectContaining({ code: 'ONEX_EVENT_607' }));
    expect(mixed).toEqual(before);
  });

  it('signSync/verifySync agree with sign/verify; bad, missing and unknown-key signatures throw their codes', async () => {
    const body = Buffer.from('body bytes');
    for (const algorithm of ['ed25519', 'hmac-sha256'] as const) {
      const signer = new EventSigner({ provider, algorithm });
      expect(signer.signSync(body, facts)).toBeUndefined(); // the current key is not cached yet
      const signed = await signer.sign(body, facts);
      expect(signer.signSync(body, facts)).toEqual(signed);
      const verifier = new EventVerifier({ provider });
      expect(verifier.verifySync(body, signed, true)).toBeUndefined(); // the key's facts are not cached yet
      expect(await verifier.verify(body, signed, true)).toBe(true);
      expect(verifier.verifySync(body, signed, true)).toBe(true);
      expect(() => verifier.verifySync(Buffer.from('other bytes'), signed, true)).toThrow(expect.objectContaining({ code: 'ONEX_EVENT_606' }));
      const forged = await new EventSigner({ provider: rogue, algorithm }).sign(body, facts);
      expect(() => verifier.verifySync(body, forged, true)).toThrow(expect.objectContaining({ code: 'ONEX_EVENT_606' }));
      expect(() => verifier.verifySync(body, undefined, true)).toThrow(expect.objectContaining({ code: 'ONEX_EVENT_632' }));
      expect(verifier.verifySync(body, undefined, false)).toBe(false);
    }
  });

  it('verifySync reads a signature text as verify does: padded or not, altered or not, a body that changes between calls', async () => {
    const signer = new EventSigner({ provider, algorithm: 'hmac-sha256' });
    const verifier = new EventVerifier({ provider });
    const long = Buffer.alloc(9000, 7); // past the scratch the canonical form starts in
    const signed = await signer.sign(long, facts);
    await verifier.verify(long, signed, true);
    const text = signed.signature;
    const flipped = (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    const variants = [text, text.slice(0, 43), `${text.slice(0, 43)}==`, flipped, `${text.slice(0, 42)}!=`, `${text} `, text.slice(0, 40), `${text}AAAA`, text.replace(/\+/g, '-').replace(/\//g, '_')];
    const outcome = async (run: () => unknown) => {
      try {
        return await run();
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    for (const body of [long, Buffer.from('short body'), Buffer.alloc(70_000, 3), long]) {
      for (const signature of variants) {
        const s = { ...signed, signature };
        expect(await outcome(() => verifier.verifySync(body, s, true)), signature).toBe(await outcome(() => verifier.verify(body, s, true)));
      }
    }
    expect(verifier.verifySync(long, signed, true)).toBe(true);
  });

  it('RecordSecurity.checkNow: synchronous once warm, and the same errors as check()', async () => {
    const cipher = new FieldCipher({ provider });
    const signer = new EventSigner({ provider, algorithm: 'hmac-sha256' });
    const security = new RecordSecurity({ verifier: new EventVerifier({ provider }), cipher, requireSignature: () => true });
    const sealed = await encryptEventFieldsNow(event(), PATHS, cipher, '1.3.0');
    const value = Buffer.from(JSON.stringify(sealed));
    const sig = await signer.sign(value, facts);
    const headers = { [SECURITY_HEADERS.signature]: sig.signature, [SECURITY_HEADERS.keyId]: sig.keyId, [SECURITY_HEADERS.algorithm]: sig.algorithm };
    expect(await security.check(value, headers, sealed, '1.3.0')).toEqual(event());
    expect(security.checkNow(value, headers, sealed, '1.3.0')).toEqual(event());
    await expect(security.check(value, {}, sealed, '1.3.0')).rejects.toMatchObject({ code: 'ONEX_EVENT_632' });
    expect(() => security.checkNow(Buffer.from('x'), headers, sealed, '1.3.0')).toThrow(expect.objectContaining({ code: 'ONEX_EVENT_606' }));
  });
  it('ready() fetches the keys up front; a cached current key is answered one TTL past its expiry while the provider is asked again', async () => {
    const cipher = new FieldCipher({ provider });
    await cipher.ready();
    expect(encryptEventFieldsNow(event(), PATHS, cipher, '1.3.0')).not.toBeInstanceOf(Promise);
    let now = Date.now();
    let asked = 0;
    const counting = new (class extends LocalKeyringProvider {
      override async currentKey(at: Date) {
        asked++;
        return super.currentKey(at);
      }
    })({ keys: [newKeyringEntry(new Date(now - 60_000), 'k1')] });
    const signer = new EventSigner({ provider: counting, algorithm: 'hmac-sha256', keyCacheMs: 1000, clock: () => now });
    await signer.ready();
    expect(asked).toBe(1);
    const body = Buffer.from('body bytes');
    expect(signer.signSync(body, facts)).toBeDefined();
    now += 1500; // past the TTL: still answered, and the provider is asked again in the background
    expect(signer.signSync(body, facts)).toBeDefined();
    expect(asked).toBe(2);
    await new Promise((r) => setImmediate(r));
    now += 900; // the refreshed key is cached from the refresh's clock
    expect(signer.signSync(body, facts)).toBeDefined();
    expect(asked).toBe(2);
    now += 5000; // past two TTLs of the last answer: no key without asking
    expect(signer.signSync(body, facts)).toBeUndefined();
  });
});
