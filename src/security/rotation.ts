import { EventError } from '../errors/index.js';
import type { KeyInfo, KeyProvider } from './key-provider.js';
import { TtlCache } from './ttl-cache.js';

/**
 * The key a reader may use: known to the provider and not retired past the rotation window. Unknown keys are
 * ONEX_EVENT_630, retired ones ONEX_EVENT_631; both name the key id, never key material.
 */
export async function usableKey(provider: KeyProvider, keyId: string, now: Date = new Date()): Promise<KeyInfo> {
  return checkUsable(provider, keyId, await provider.keyInfo(keyId), now.getTime());
}

/** usableKey's check on facts already fetched (synchronous). */
export function checkUsable(provider: KeyProvider, keyId: string, info: KeyInfo | undefined, nowMs: number): KeyInfo {
  if (info === undefined) {
    throw new EventError('ONEX_EVENT_630', `key ${keyId} is unknown to key provider ${provider.id}.`, {
      details: { providerId: provider.id, keyId },
    });
  }
  if (info.supersededAt !== undefined) {
    const refusedFrom = info.supersededAt.getTime() + provider.rotationWindowMs;
    if (nowMs >= refusedFrom) {
      throw new EventError(
        'ONEX_EVENT_631',
        `key ${keyId} was superseded at ${info.supersededAt.toISOString()} and its rotation window ended at ${new Date(refusedFrom).toISOString()}.`,
        { details: { providerId: provider.id, keyId, supersededAt: info.supersededAt.toISOString() } },
      );
    }
  }
  return info;
}

/**
 * A provider's key facts, cached for `ttlMs` so a reader does not ask the provider (for a KMS: a network call) per
 * event. The window check itself runs on every use against the clock, so a key is refused the moment its window
 * ends; only a change in the provider (a key added or removed) is seen up to `ttlMs` late.
 */
export class KeyInfoCache {
  readonly #provider: KeyProvider;
  readonly #clock: () => number;
  readonly #infos: TtlCache<KeyInfo | undefined>;
  #current: { info: KeyInfo; until: number } | undefined;
  #refreshing: Promise<unknown> | undefined;
  readonly #ttlMs: number;

  constructor(provider: KeyProvider, ttlMs: number, clock: () => number) {
    this.#provider = provider;
    this.#clock = clock;
    this.#ttlMs = ttlMs;
    this.#infos = new TtlCache(ttlMs, 1024, clock);
  }

  /** The usable facts of `keyId`, synchronously when cached (undefined: ask usable()). Throws 630/631. */
  usableSync(keyId: string): KeyInfo | undefined {
    // One lookup, not has() and then get(): this runs for every signature and every encrypted field.
    const entry = this.#infos.entry(keyId);
    if (entry === undefined) return undefined;
    return checkUsable(this.#provider, keyId, entry.value, this.#clock());
  }

  async usable(keyId: string): Promise<KeyInfo> {
    const cached = this.usableSync(keyId);
    if (cached !== undefined) return cached;
    const info = await this.#provider.keyInfo(keyId);
    // An unknown key is cached too (as undefined), so a stream of records under a rogue key costs no provider call each.
    this.#infos.set(keyId, info);
    return checkUsable(this.#provider, keyId, info, this.#clock());
  }

  /**
   * The provider's current key, cached for the TTL (a rotation is picked up at most that late; the old key still
   * verifies). Past the TTL the cached key is still answered for up to one TTL more while the provider is asked again
   * in the background, so a stream of events does not fall off the synchronous path at every refresh.
   */
  currentSync(): KeyInfo | undefined {
    const c = this.#current;
    if (c === undefined) return undefined;
    const now = this.#clock();
    if (now < c.until) return c.info;
    if (now >= c.until + this.#ttlMs) return undefined;
    this.#refreshing ??= this.current()
      .catch(() => undefined)
      .finally(() => {
        this.#refreshing = undefined;
      }) as Promise<unknown>;
    return c.info;
  }

  async current(): Promise<KeyInfo> {
    const c = this.#current;
    if (c !== undefined && this.#clock() < c.until) return c.info;
    const now = this.#clock();
    const info = await this.#provider.currentKey(new Date(now));
    this.#current = { info, until: now + this.#ttlMs };
    return info;
  }
}
