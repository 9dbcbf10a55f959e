import { describe, expect, it } from 'vitest';
import { sealedSkip } from '../../../src/replay/replay.js';
import type { ReadEvent } from '../../../src/replay/reader.js';
import { envelopeToText, FieldCipher, LocalKeyringProvider, newKeyringEntry, SecurityPolicy } from '../../../src/security/index.js';

const cipher = new FieldCipher({ provider: new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k1')] }) });
const read = (metadata: Record<string, unknown>, encrypted?: string[]): ReadEvent => ({
  event: { event_id: 'e1', event_type: 'NODE_FAILURE', node_id: 'a_node-001', metadata },
  writerVersion: '2.0.0',
  partition: 0,
  offset: '0',
  recordTimeMs: 0,
  ...(encrypted ? { encrypted } : {}),
});

describe('sealedSkip: nothing encrypted at the source is replayed in plaintext', () => {
  const policy = new SecurityPolicy({ cipher, encrypt: { NODE_FAILURE: ['metadata.card', 'metadata.error'] } });

  it('replays events that had no encrypted fields, with or without a policy', () => {
    expect(sealedSkip(read({ card: 'x' }), undefined)).toBeUndefined();
    expect(sealedSkip(read({ card: 'x' }), policy)).toBeUndefined();
  });

  it('637 when a field is still a ciphertext envelope (not decrypted)', async () => {
    const envelope = envelopeToText(await cipher.encrypt('4111', { eventId: 'e1', eventType: 'NODE_FAILURE', path: 'metadata.card', schemaVersion: '2.0.0' }));
    expect(sealedSkip(read({ card: envelope }, ['metadata.card']), policy)).toBe('ONEX_EVENT_637');
  });

  it('638 when the emit policy would not encrypt every decrypted field again', () => {
    expect(sealedSkip(read({ card: '4111' }, ['metadata.card']), undefined)).toBe('ONEX_EVENT_638');
    expect(sealedSkip(read({ card: '4111', pin: '1' }, ['metadata.card', 'metadata.pin']), policy)).toBe('ONEX_EVENT_638');
    expect(sealedSkip(read({ card: '4111', error: 'e' }, ['metadata.card', 'metadata.error']), policy)).toBeUndefined();
  });
});
