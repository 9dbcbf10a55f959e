import { EventError } from '../errors/index.js';
import type { KeyInfo, KeyProvider } from './key-provider.js';

/**
 * The key a reader may use: known to the provider and not retired past the rotation window. Unknown keys are
 * ONEX_EVENT_630, retired ones ONEX_EVENT_631; both name the key id, never key material.
 */
export async function usableKey(provider: KeyProvider, keyId: string, now: Date = new Date()): Promise<KeyInfo> {
  const info = await provider.keyInfo(keyId);
  if (info === undefined) {
    throw new EventError('ONEX_EVENT_630', `key ${keyId} is unknown to key provider ${provider.id}.`, {
      details: { providerId: provider.id, keyId },
    });
  }
  if (info.supersededAt !== undefined) {
    const refusedFrom = info.supersededAt.getTime() + provider.rotationWindowMs;
    if (now.getTime() >= refusedFrom) {
      throw new EventError(
        'ONEX_EVENT_631',
        `key ${keyId} was superseded at ${info.supersededAt.toISOString()} and its rotation window ended at ${new Date(refusedFrom).toISOString()}.`,
        { details: { providerId: provider.id, keyId, supersededAt: info.supersededAt.toISOString() } },
      );
    }
  }
  return info;
}
