import { describe, expect, it } from 'vitest';
import { COMPACT_ENVELOPE_PREFIX, envelopeToText, FieldCipher, LocalKeyringProvider, readEnvelope } from '../../../src/security/index.js';

const provider = new LocalKeyringProvider({ keys: [{ id: 'k-fixture', active_from: '2026-01-01T00:00:00.000Z', secret: Buffer.alloc(32, 7).toString('base64') }] });
const binding = (eventId: string) => ({ eventId, eventType: 'NODE_FAILURE', path: 'metadata.input_state.card', schemaVersion: '1.3.0' });
const VALUE = { card: '4111 1111 1111 1111' };

// Written by the format-1 code before the compact form and the cached associated data: both must still open.
const FORMAT_1: [string, string][] = [
  [
    '3f1c2a9e-5b7d-4c1e-9a2b-1d2e3f4a5b6c',
    'onex-enc:1:eyJvbmV4X2VuYyI6MSwiYWxnIjoiYWVzLTI1Ni1nY20iLCJwaWQiOiJsb2NhbCIsImtpZCI6ImstZml4dHVyZSIsInN2IjoiMS4zLjAiLCJkayI6IjRiUHlYYVRSTDd1d3d0UjYrcEVFSVB4S2dhOUNUMlRNU1hqV1VQQWs1UnNhTnh2WGg4VW42UWRlV1NYY3NRYVlvNU5BYjYyRjJRZkNJZkF6IiwiaXYiOiJBNERFMVFBQUFBQUFBQUFBIiwiY3QiOiJKVGdSY3NET1NYUitVcHlBczNxVnpmT2I4VzdWTHhEdWFkNWZjbEprIiwidGFnIjoiVVZtYjlXQ1poQ2RVSjZpQVcreFJnUT09In0',
  ],
  [
    'id "with" ünïcode\n',
    'onex-enc:1:eyJvbmV4X2VuYyI6MSwiYWxnIjoiYWVzLTI1Ni1nY20iLCJwaWQiOiJsb2NhbCIsImtpZCI6ImstZml4dHVyZSIsInN2IjoiMS4zLjAiLCJkayI6IjRiUHlYYVRSTDd1d3d0UjYrcEVFSVB4S2dhOUNUMlRNU1hqV1VQQWs1UnNhTnh2WGg4VW42UWRlV1NYY3NRYVlvNU5BYjYyRjJRZkNJZkF6IiwiaXYiOiJBNERFMVFBQUFBQUFBQUFCIiwiY3QiOiJGVDl1SmhmaXBNWFlDOFNTRGNuR2c5T3pEUWZhbXpCdW9vYWhVMzNCIiwidGFnIjoiZEY0VDBudDdlNWt6Q2ZHNzJRUnlvdz09In0',
  ],
];

async function code(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'no error', (e: { code: string }) => e.code);
}

describe('ciphertext envelope text forms', () => {
  it('format-1 texts written before still decrypt (the associated data bytes are unchanged), and only under their own event id', async () => {
    const cipher = new FieldCipher({ provider });
    for (const [eventId, text] of FORMAT_1) {
      expect(await cipher.decrypt(readEnvelope(text)!, binding(eventId))).toEqual(VALUE);
      expect(await code(cipher.decrypt(readEnvelope(text)!, binding('another-event')))).toBe('ONEX_EVENT_607');
    }
  });

  it('writes the compact form: no JSON, shorter, the same envelope read back; format 1 when asked (flag off)', async () => {
    const cipher = new FieldCipher({ provider });
    const envelope = await cipher.encrypt(VALUE, binding('e-1'));
    const compact = envelopeToText(envelope, true);
    const v1 = envelopeToText(envelope, false);
    expect(compact.startsWith(COMPACT_ENVELOPE_PREFIX)).toBe(true);
    expect(v1.startsWith('onex-enc:1:')).toBe(true);
    expect(compact.length).toBeLessThan(v1.length);
    expect(readEnvelope(compact)).toEqual(envelope);
    expect(readEnvelope(v1)).toEqual(envelope);
    expect(await cipher.decrypt(readEnvelope(compact)!, binding('e-1'))).toEqual(VALUE);
    expect(await code(cipher.decrypt(readEnvelope(compact)!, { ...binding('e-1'), path: 'metadata.other' }))).toBe('ONEX_EVENT_607');
  });

  it('ids with a colon or other characters survive the compact form; a broken compact text is ONEX_EVENT_633', async () => {
    const odd = new LocalKeyringProvider({ keys: [{ id: 'key:1 %', active_from: '2026-01-01T00:00:00.000Z', secret: Buffer.alloc(32, 9).toString('base64') }] }, { id: 'vault:transit/ü' });
    const cipher = new FieldCipher({ provider: odd });
    const envelope = await cipher.encrypt('x', binding('e-2'));
    const text = envelopeToText(envelope, true);
    expect(readEnvelope(text)).toEqual(envelope);
    expect(await cipher.decrypt(readEnvelope(text)!, binding('e-2'))).toBe('x');
    for (const broken of [`${COMPACT_ENVELOPE_PREFIX}a:b:c`, `${COMPACT_ENVELOPE_PREFIX}a:b:c:d:e:f:`, `${COMPACT_ENVELOPE_PREFIX}%E0:b:c:d:e:f:g`]) {
      expect(() => readEnvelope(broken)).toThrow(expect.objectContaining({ code: 'ONEX_EVENT_633' }));
    }
    expect(readEnvelope('onex-enc:9:whatever')).toBeUndefined();
    expect(readEnvelope('plain text')).toBeUndefined();
  });
});
