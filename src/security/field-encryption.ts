import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EventError, OnexRuntimeError } from '../errors/index.js';
import type { KeyProvider } from './key-provider.js';
import { usableKey } from './rotation.js';
import { TtlCache } from './ttl-cache.js';

/**
 * Field encryption (docs/security.md): AES-256-GCM under a data key per key period, the data key wrapped by the
 * provider's current key. The associated data binds each ciphertext to its event id, event type, field path,
 * schema version at encryption and key id, so a ciphertext moved to another field or event does not decrypt.
 */

/** The ciphertext envelope: the value of an encrypted field (1.x metadata as this object, 2.0.0 as its text form). */
export interface CiphertextEnvelope {
  readonly onex_enc: 1;
  readonly alg: 'aes-256-gcm';
  /** Provider id and key id of the key-encryption key. */
  readonly pid: string;
  readonly kid: string;
  /** Schema version of the event when the field was encrypted (part of the associated data). */
  readonly sv: string;
  /** Wrapped data key, nonce, ciphertext and tag, base64. */
  readonly dk: string;
  readonly iv: string;
  readonly ct: string;
  readonly tag: string;
}

export const ENVELOPE_TEXT_PREFIX = 'onex-enc:1:';

/** What a ciphertext is bound to. */
export interface FieldBinding {
  readonly eventId: string;
  readonly eventType: string;
  readonly path: string;
  readonly schemaVersion: string;
}

export interface FieldCipherOptions {
  readonly provider: KeyProvider;
  /** A new data key per period (default one hour). */
  readonly dataKeyPeriodMs?: number;
  /** How long a data key (fresh or unwrapped) stays cached (default 5 minutes). */
  readonly dataKeyTtlMs?: number;
  readonly clock?: () => number;
}

interface DataKey {
  readonly key: Buffer;
  readonly wrapped: string;
  readonly kid: string;
}

function associatedData(binding: FieldBinding, pid: string, kid: string): Buffer {
  return Buffer.from(JSON.stringify(['onex-field-1', binding.eventId, binding.eventType, binding.path, binding.schemaVersion, pid, kid]));
}

export function isCiphertextEnvelope(value: unknown): value is CiphertextEnvelope {
  return typeof value === 'object' && value !== null && (value as { onex_enc?: unknown }).onex_enc === 1;
}

/** The 2.0.0 text form of an envelope (typed metadata fields are strings). */
export function envelopeToText(envelope: CiphertextEnvelope): string {
  return ENVELOPE_TEXT_PREFIX + Buffer.from(JSON.stringify(envelope)).toString('base64url');
}

/** Reads an envelope from its object or text form; undefined when the value is not an envelope. */
export function readEnvelope(value: unknown): CiphertextEnvelope | undefined {
  if (isCiphertextEnvelope(value)) return value;
  if (typeof value === 'string' && value.startsWith(ENVELOPE_TEXT_PREFIX)) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(value.slice(ENVELOPE_TEXT_PREFIX.length), 'base64url').toString('utf8'));
      if (isCiphertextEnvelope(parsed)) return parsed;
    } catch {
      // falls through to the typed error below
    }
    throw new EventError('ONEX_EVENT_633', 'a field holds an unreadable ciphertext envelope.');
  }
  return undefined;
}

export class FieldCipher {
  readonly #provider: KeyProvider;
  readonly #periodMs: number;
  readonly #clock: () => number;
  readonly #encryptKeys: TtlCache<Promise<DataKey>>;
  readonly #decryptKeys: TtlCache<Promise<Buffer>>;

  constructor(options: FieldCipherOptions) {
    const periodMs = options.dataKeyPeriodMs ?? 3_600_000;
    const ttlMs = options.dataKeyTtlMs ?? 300_000;
    if (!(periodMs > 0)) throw new OnexRuntimeError('ONEX_RT_407', `dataKeyPeriodMs must be > 0, got ${String(periodMs)}.`);
    if (!(ttlMs > 0)) throw new OnexRuntimeError('ONEX_RT_407', `dataKeyTtlMs must be > 0, got ${String(ttlMs)}.`);
    this.#provider = options.provider;
    this.#periodMs = periodMs;
    this.#clock = options.clock ?? Date.now;
    this.#encryptKeys = new TtlCache(ttlMs, 64, this.#clock);
    this.#decryptKeys = new TtlCache(ttlMs, 1024, this.#clock);
  }

  /** Encrypts the JSON value of one field. */
  async encrypt(value: unknown, binding: FieldBinding): Promise<CiphertextEnvelope> {
    const dataKey = await this.#currentDataKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', dataKey.key, iv);
    cipher.setAAD(associatedData(binding, this.#provider.id, dataKey.kid));
    const ct = Buffer.concat([cipher.update(JSON.stringify(value) ?? 'null', 'utf8'), cipher.final()]);
    return {
      onex_enc: 1,
      alg: 'aes-256-gcm',
      pid: this.#provider.id,
      kid: dataKey.kid,
      sv: binding.schemaVersion,
      dk: dataKey.wrapped,
      iv: iv.toString('base64'),
      ct: ct.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    };
  }

  /**
   * Decrypts an envelope bound to `binding` (its schemaVersion is taken from the envelope: upcasting does not
   * re-encrypt). Throws ONEX_EVENT_630 (unknown key), 631 (retired key) or 607 (does not open here).
   */
  async decrypt(envelope: CiphertextEnvelope, binding: Omit<FieldBinding, 'schemaVersion'>): Promise<unknown> {
    if (envelope.alg !== 'aes-256-gcm' || typeof envelope.kid !== 'string' || typeof envelope.ct !== 'string') {
      throw new EventError('ONEX_EVENT_633', `the ciphertext envelope at ${binding.path} is malformed.`, { details: { path: binding.path } });
    }
    if (envelope.pid !== this.#provider.id) {
      throw new EventError('ONEX_EVENT_630', `the field ${binding.path} was encrypted under provider ${envelope.pid}, not ${this.#provider.id}.`, {
        details: { path: binding.path, providerId: envelope.pid, keyId: envelope.kid },
      });
    }
    await usableKey(this.#provider, envelope.kid, new Date(this.#clock()));
    const key = await this.#unwrapped(envelope.kid, envelope.dk);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'));
      decipher.setAAD(associatedData({ ...binding, schemaVersion: envelope.sv }, envelope.pid, envelope.kid));
      decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
      const plain = Buffer.concat([decipher.update(Buffer.from(envelope.ct, 'base64')), decipher.final()]);
      return JSON.parse(plain.toString('utf8'));
    } catch (cause) {
      throw new EventError('ONEX_EVENT_607', `the field ${binding.path} of event ${binding.eventId} does not decrypt: it was altered or belongs to another field or event.`, {
        cause,
        details: { path: binding.path, eventId: binding.eventId, keyId: envelope.kid },
      });
    }
  }

  #currentDataKey(): Promise<DataKey> {
    const now = this.#clock();
    const period = Math.floor(now / this.#periodMs);
    const slot = String(period);
    const cached = this.#encryptKeys.get(slot);
    if (cached !== undefined) return cached;
    const made = (async (): Promise<DataKey> => {
      const kek = await this.#provider.currentKey(new Date(now));
      const key = randomBytes(32);
      const wrapped = Buffer.from(await this.#provider.wrap(kek.id, key)).toString('base64');
      this.#decryptKeys.set(`${kek.id}|${wrapped}`, Promise.resolve(key));
      return { key, wrapped, kid: kek.id };
    })();
    made.catch(() => this.#encryptKeys.delete(slot));
    this.#encryptKeys.set(slot, made);
    return made;
  }

  #unwrapped(kid: string, wrapped: string): Promise<Buffer> {
    const slot = `${kid}|${wrapped}`;
    const cached = this.#decryptKeys.get(slot);
    if (cached !== undefined) return cached;
    const made = this.#provider.unwrap(kid, Buffer.from(wrapped, 'base64')).then((key) => Buffer.from(key));
    this.#decryptKeys.set(slot, made);
    made.catch(() => this.#decryptKeys.delete(slot));
    return made;
  }
}
