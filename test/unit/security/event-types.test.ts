import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, type OnexEventType, SCHEMA_VERSIONS, type SchemaVersion } from '../../../src/event/index.js';
import { decodeEvent, encodeEvent, transformEvent } from '../../../src/schema/index.js';
import { decryptEventFields, encryptEventFields, FieldCipher, LocalKeyringProvider, newKeyringEntry, readEnvelope } from '../../../src/security/index.js';
import { generateEvent, rng } from '../../fixtures/events/generate.js';

/**
 * Every event type of every version with an encrypted field, through the Avro codec and across upcasting (issue 16,
 * item 5): written at 1.x and read at 1.x and at 2.0.0, and written at 2.0.0 (where a 1.x field lives in the typed
 * record's `extra` map, or under `untyped`) and read at 2.0.0 and downcast to 1.3.0 after decryption.
 */
const provider = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k1')] });
const cipher = new FieldCipher({ provider });
const SECRET = 'pan 4111 1111 1111 1111';
const V1 = SCHEMA_VERSIONS.filter((v) => v !== '2.0.0');

type Ev = Record<string, unknown> & { event_id: string; event_type: string; metadata: Record<string, unknown> };

function withSecret(version: SchemaVersion, type: OnexEventType, seed: number): Ev {
  const event = generateEvent(rng(seed), version, { eventType: type }) as unknown as Ev;
  return { ...event, metadata: { ...(event.metadata ?? {}), secret: SECRET } };
}

/** Where the 1.x field `secret` is in a 2.0.0 event's metadata, and its path. */
function v2Place(event: Ev): { holder: Record<string, unknown>; path: string } {
  const m = event.metadata;
  if (m.untyped !== undefined) return { holder: m.untyped as Record<string, unknown>, path: 'metadata.secret' };
  return { holder: m.extra as Record<string, unknown>, path: 'metadata.extra.secret' };
}

const roundTrip = (event: object, version: SchemaVersion): Ev => decodeEvent(encodeEvent(event, version), version) as unknown as Ev;

describe('encrypted fields in every event type', () => {
  for (const version of V1) {
    it(`${version}: every type round-trips through Avro and decrypts at ${version} and upcast to 2.0.0`, async () => {
      let n = 0;
      for (const type of EVENT_TYPES[version]) {
        const plain = withSecret(version, type, 1000 + n++);
        const sealed = roundTrip(await encryptEventFields(plain, ['metadata.secret'], cipher, version), version);
        expect(readEnvelope(sealed.metadata.secret)?.kid, type).toBe('k1');
        expect(JSON.stringify(sealed), type).not.toContain(SECRET);
        expect((await decryptEventFields(sealed, cipher)).metadata.secret, type).toBe(SECRET);
        const upcast = roundTrip(transformEvent(sealed, '2.0.0') as object, '2.0.0');
        const opened = await decryptEventFields(upcast, cipher);
        expect(v2Place(opened).holder.secret, `${type} upcast`).toBe(SECRET);
      }
      expect(n).toBe(EVENT_TYPES[version].length);
    });
  }

  it('2.0.0: every type written encrypted (typed extra or untyped) decrypts at 2.0.0 and downcasts to 1.3.0 after', async () => {
    let n = 0;
    for (const type of EVENT_TYPES['2.0.0']) {
      // A 2.0.0 event as the producer makes one from 1.x-shaped input: the field lands in `extra` or under `untyped`.
      const plain = transformEvent(withSecret('1.3.0', type, 2000 + n++), '2.0.0') as unknown as Ev;
      const { path } = v2Place(plain);
      const sealed = roundTrip(await encryptEventFields(plain, [path], cipher, '2.0.0'), '2.0.0');
      expect(JSON.stringify(sealed), type).not.toContain(SECRET);
      expect((sealed.security as { encrypted_fields: string[] }).encrypted_fields, type).toEqual([path]);
      const opened = await decryptEventFields(sealed, cipher);
      expect(v2Place(opened).holder.secret, type).toBe(SECRET);
      const down = transformEvent(opened, '1.3.0') as unknown as Ev;
      expect(down.metadata.secret, `${type} downcast`).toBe(SECRET);
    }
    expect(n).toBe(EVENT_TYPES['2.0.0'].length);
  });
});
