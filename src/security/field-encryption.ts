import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { EventError, OnexRuntimeError } from '../errors/index.js';
import { flags as processFlags } from '../flags/index.js';
import type { KeyProvider } from './key-provider.js';
import { KeyInfoCache } from './rotation.js';
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
/**
 * The compact text form (format 2): `onex-enc:2:<pid>:<kid>:<sv>:<dk>:<iv>:<ct>:<tag>`, the ids percent-encoded
 * (encodeURIComponent, so they hold no `:`), the rest base64 as in the object. Same envelope, no JSON and no second
 * base64 over it: cheaper to write and read and shorter. Readers read both forms; writers write this one unless the
 * flag onex.security.compact-envelope is off (for readers older than format 2).
 */
export const COMPACT_ENVELOPE_PREFIX = 'onex-enc:2:';

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
  readonly key: KeyObject;
  readonly wrapped: string;
  readonly kid: string;
  /**
   * GCM nonces under this data key: a random 4-byte prefix and a 64-bit counter (the deterministic construction of
   * NIST SP 800-38D, 8.2.1). The data key is made in this process and never used by another, so the counter alone
   * keeps every nonce unique under it, without the birthday bound of random nonces or a CSPRNG call per field.
   */
  readonly ivPrefix: Buffer;
  counter: number;
  /** The compact text up to the nonce (`onex-enc:2:<pid>:<kid>:<sv>:<dk>:`), per schema version. */
  readonly textHeads: Map<string, string>;
  readonly slot: number;
  readonly expires: number;
}

/**
 * The associated data: the JSON array ["onex-field-1", eventId, eventType, path, schemaVersion, pid, kid]. Everything
 * but the event id repeats from event to event, so the bytes around it are cached (same bytes as JSON.stringify) per
 * (event type, path, schema version, key), found by event type and then compared, without building a key string per
 * field. By event type rather than by path: a stream has one path in every event type (the bench's 18), and a list
 * per path bounded below that was emptied and rebuilt over and over.
 */
interface AdParts {
  readonly path: string;
  readonly schemaVersion: string;
  readonly pid: string;
  readonly kid: string;
  readonly head: Buffer;
  readonly tail: Buffer;
  /**
   * head, a quoted plain id of `idLength` characters, tail: only the id is written per field. setAAD hashes the bytes
   * before it returns (GCM takes the associated data into GHASH at once), so one buffer serves every field.
   */
  scratch: Buffer | undefined;
}
const adParts = new Map<string, AdParts[]>();
const PLAIN_ID = /^[A-Za-z0-9._:-]*$/;
function adPartsOf(eventType: string, path: string, schemaVersion: string, pid: string, kid: string): AdParts {
  let list = adParts.get(eventType);
  if (list !== undefined) {
    for (const parts of list) {
      if (parts.path === path && parts.schemaVersion === schemaVersion && parts.kid === kid && parts.pid === pid) return parts;
    }
  } else {
    if (adParts.size >= 1024) adParts.clear();
    adParts.set(eventType, (list = []));
  }
  const whole = JSON.stringify(['onex-field-1', '\u0000', eventType, path, schemaVersion, pid, kid]);
  const at = whole.indexOf('"\\u0000"');
  const parts: AdParts = {
    path,
    schemaVersion,
    pid,
    kid,
    head: Buffer.from(whole.slice(0, at), 'utf8'),
    tail: Buffer.from(whole.slice(at + '"\\u0000"'.length), 'utf8'),
    scratch: undefined,
  };
  if (list.length >= 64) list.length = 0;
  list.push(parts);
  return parts;
}
/**
 * The associated data of one field, valid until the next call (setAAD consumes it at once). The binding's facts as
 * arguments: decryption takes the schema version from the envelope, and a binding object made for it per field was
 * garbage.
 */
function associatedData(id: string, eventType: string, path: string, schemaVersion: string, pid: string, kid: string): Buffer {
  const parts = adPartsOf(eventType, path, schemaVersion, pid, kid);
  const { head, tail } = parts;
  if (!PLAIN_ID.test(id)) return Buffer.concat([head, Buffer.from(JSON.stringify(id), 'utf8'), tail]);
  // A plain id is ASCII: its JSON is the id in quotes, one byte per character.
  let out = parts.scratch;
  if (out === undefined || out.length !== head.length + id.length + 2 + tail.length) {
    out = parts.scratch = Buffer.allocUnsafe(head.length + id.length + 2 + tail.length);
    head.copy(out, 0);
    out[head.length] = 0x22;
    out[head.length + id.length + 1] = 0x22;
    tail.copy(out, head.length + id.length + 2);
  }
  out.write(id, head.length + 1, 'latin1');
  return out;
}

/** Scratch buffers for a nonce and a tag: createCipheriv, createDecipheriv and setAuthTag copy what they get. */
const NONCE = Buffer.alloc(12);
const TAG = Buffer.alloc(16);

export function isCiphertextEnvelope(value: unknown): value is CiphertextEnvelope {
  return typeof value === 'object' && value !== null && (value as { onex_enc?: unknown }).onex_enc === 1;
}

/**
 * The text form of an envelope (2.0.0 fields, and 1.x string fields): the compact form (format 2) unless the flag
 * onex.security.compact-envelope is off, then format 1 (`onex-enc:1:` + base64url of the envelope's JSON).
 */
export function envelopeToText(envelope: CiphertextEnvelope, compact = processFlags.isEnabled('onex.security.compact-envelope', true)): string {
  if (!compact) return ENVELOPE_TEXT_PREFIX + Buffer.from(JSON.stringify(envelope)).toString('base64url');
  return `${compactHead(envelope.pid, envelope.kid, envelope.sv, envelope.dk)}${envelope.iv}:${envelope.ct}:${envelope.tag}`;
}

function compactHead(pid: string, kid: string, sv: string, dk: string): string {
  return `${COMPACT_ENVELOPE_PREFIX}${encodeURIComponent(pid)}:${encodeURIComponent(kid)}:${encodeURIComponent(sv)}:${dk}:`;
}

function unreadable(): never {
  throw new EventError('ONEX_EVENT_633', 'a field holds an unreadable ciphertext envelope.');
}

function compactId(part: string): string {
  if (part === '') unreadable();
  if (!part.includes('%')) return part;
  try {
    return decodeURIComponent(part);
  } catch {
    return unreadable();
  }
}

/** The seven fields of a compact text, found by indexOf: no array of parts, no scan for `%` past the ids. */
function compactEnvelope(value: string): CiphertextEnvelope {
  const a = COMPACT_ENVELOPE_PREFIX.length;
  const b = value.indexOf(':', a);
  const c = b < 0 ? -1 : value.indexOf(':', b + 1);
  const d = c < 0 ? -1 : value.indexOf(':', c + 1);
  const e = d < 0 ? -1 : value.indexOf(':', d + 1);
  const f = e < 0 ? -1 : value.indexOf(':', e + 1);
  const g = f < 0 ? -1 : value.indexOf(':', f + 1);
  // Six separators, no seventh, no empty field.
  if (g < 0 || value.indexOf(':', g + 1) >= 0 || e === d + 1 || f === e + 1 || g === f + 1 || g === value.length - 1) unreadable();
  return {
    onex_enc: 1,
    alg: 'aes-256-gcm',
    pid: compactId(value.slice(a, b)),
    kid: compactId(value.slice(b + 1, c)),
    sv: compactId(value.slice(c + 1, d)),
    dk: value.slice(d + 1, e),
    iv: value.slice(e + 1, f),
    ct: value.slice(f + 1, g),
    tag: value.slice(g + 1),
  };
}

/** Reads an envelope from its object or text form (either format); undefined when the value is not an envelope. */
export function readEnvelope(value: unknown): CiphertextEnvelope | undefined {
  if (typeof value === 'string') {
    if (!value.startsWith('onex-enc:')) return undefined;
    if (value.startsWith(COMPACT_ENVELOPE_PREFIX)) return compactEnvelope(value);
    if (!value.startsWith(ENVELOPE_TEXT_PREFIX)) return undefined;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(value.slice(ENVELOPE_TEXT_PREFIX.length), 'base64url').toString('utf8'));
      if (isCiphertextEnvelope(parsed)) return parsed;
    } catch {
      // falls through to the typed error below
    }
    return unreadable();
  }
  return isCiphertextEnvelope(value) ? value : undefined;
}

export class FieldCipher {
  readonly #provider: KeyProvider;
  readonly #periodMs: number;
  readonly #ttlMs: number;
  readonly #clock: () => number;
  /** The data key of the current period (made once per period and TTL), and the one being made. */
  #fresh: DataKey | undefined;
  #making: Promise<DataKey> | undefined;
  readonly #decryptKeys: TtlCache<Promise<KeyObject>>;
  /** Unwrapped data keys, for decryption without a promise when cached. */
  readonly #opened: TtlCache<KeyObject>;
  #lastOpened: { readonly kid: string; readonly dk: string; readonly key: KeyObject; readonly expires: number } | undefined;
  readonly #keys: KeyInfoCache;

  constructor(options: FieldCipherOptions) {
    const periodMs = options.dataKeyPeriodMs ?? 3_600_000;
    const ttlMs = options.dataKeyTtlMs ?? 300_000;
    if (!(periodMs > 0)) throw new OnexRuntimeError('ONEX_RT_407', `dataKeyPeriodMs must be > 0, got ${String(periodMs)}.`);
    if (!(ttlMs > 0)) throw new OnexRuntimeError('ONEX_RT_407', `dataKeyTtlMs must be > 0, got ${String(ttlMs)}.`);
    this.#provider = options.provider;
    this.#periodMs = periodMs;
    this.#ttlMs = ttlMs;
    this.#clock = options.clock ?? Date.now;
    this.#decryptKeys = new TtlCache(ttlMs, 1024, this.#clock);
    this.#opened = new TtlCache(ttlMs, 1024, this.#clock);
    this.#keys = new KeyInfoCache(options.provider, ttlMs, this.#clock);
  }

  /** Makes the period's data key now if there is none, so the first events encrypt without a promise (the producer's start). */
  async ready(): Promise<void> {
    if (this.#freshNow() === undefined) await this.#makeDataKey();
  }

  /** Encrypts the JSON value of one field. */
  async encrypt(value: unknown, binding: FieldBinding): Promise<CiphertextEnvelope> {
    return this.encryptSync(value, binding) ?? this.#envelope(await this.#makeDataKey(), value, binding);
  }

  /** encrypt() without a promise when the period's data key is made already; undefined when it is not. */
  encryptSync(value: unknown, binding: FieldBinding): CiphertextEnvelope | undefined {
    const fresh = this.#freshNow();
    return fresh === undefined ? undefined : this.#envelope(fresh, value, binding);
  }

  /**
   * The envelope's text form (envelopeToText) without a promise when the period's data key is made already; undefined
   * when it is not. The compact text is written straight from the ciphertext: no envelope object, and the part before
   * the nonce (ids, schema version, wrapped data key) made once per data key and schema version.
   */
  encryptTextSync(value: unknown, binding: FieldBinding, compact = processFlags.isEnabled('onex.security.compact-envelope', true)): string | undefined {
    const fresh = this.#freshNow();
    if (fresh === undefined) return undefined;
    if (!compact) return envelopeToText(this.#envelope(fresh, value, binding), false);
    const s = this.#seal(fresh, value, binding);
    let head = fresh.textHeads.get(binding.schemaVersion);
    if (head === undefined) fresh.textHeads.set(binding.schemaVersion, (head = compactHead(this.#provider.id, fresh.kid, binding.schemaVersion, fresh.wrapped)));
    return `${head}${s.iv}:${s.ct}:${s.tag}`;
  }

  /** encryptTextSync, as a promise when the data key must be made first. */
  async encryptText(value: unknown, binding: FieldBinding, compact = processFlags.isEnabled('onex.security.compact-envelope', true)): Promise<string> {
    return this.encryptTextSync(value, binding, compact) ?? envelopeToText(this.#envelope(await this.#makeDataKey(), value, binding), compact);
  }

  /** The key id of the data key encryptSync and encryptTextSync seal under now (undefined before the first). */
  get sealingKeyId(): string | undefined {
    return this.#fresh?.kid;
  }

  #freshNow(): DataKey | undefined {
    const fresh = this.#fresh;
    if (fresh === undefined) return undefined;
    const now = this.#clock();
    return now >= fresh.expires || Math.floor(now / this.#periodMs) !== fresh.slot ? undefined : fresh;
  }

  #envelope(dataKey: DataKey, value: unknown, binding: FieldBinding): CiphertextEnvelope {
    const s = this.#seal(dataKey, value, binding);
    return { onex_enc: 1, alg: 'aes-256-gcm', pid: this.#provider.id, kid: dataKey.kid, sv: binding.schemaVersion, dk: dataKey.wrapped, iv: s.iv, ct: s.ct, tag: s.tag };
  }

  /** Nonce, ciphertext and tag of one field, base64. */
  #seal(dataKey: DataKey, value: unknown, binding: FieldBinding): { iv: string; ct: string; tag: string } {
    const iv = NONCE;
    dataKey.ivPrefix.copy(iv, 0);
    const n = dataKey.counter++;
    iv.writeUInt32BE(Math.floor(n / 0x1_0000_0000), 4);
    iv.writeUInt32BE(n % 0x1_0000_0000, 8);
    const cipher = createCipheriv('aes-256-gcm', dataKey.key, iv);
    cipher.setAAD(associatedData(binding.eventId, binding.eventType, binding.path, binding.schemaVersion, this.#provider.id, dataKey.kid));
    // GCM is a stream mode: update() returns every ciphertext byte and final() none, so no concat is needed.
    const ct = cipher.update(JSON.stringify(value) ?? 'null', 'utf8');
    cipher.final();
    return { iv: iv.toString('base64'), ct: ct.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
  }

  /**
   * Decrypts an envelope bound to `binding` (its schemaVersion is taken from the envelope: upcasting does not
   * re-encrypt). Throws ONEX_EVENT_630 (unknown key), 631 (retired key) or 607 (does not open here).
   */
  async decrypt(envelope: CiphertextEnvelope, binding: Omit<FieldBinding, 'schemaVersion'>): Promise<unknown> {
    this.#checkEnvelope(envelope, binding);
    if (this.#keys.usableSync(envelope.kid) === undefined) await this.#keys.usable(envelope.kid);
    const key = this.#openedKey(envelope) ?? (await this.#unwrapped(envelope.kid, envelope.dk));
    return this.#open(key, envelope, binding);
  }

  /** decrypt() without a promise when the key's facts and the data key are cached; undefined when they are not. */
  decryptSync(envelope: CiphertextEnvelope, binding: Omit<FieldBinding, 'schemaVersion'>): { value: unknown } | undefined {
    this.#checkEnvelope(envelope, binding);
    if (this.#keys.usableSync(envelope.kid) === undefined) return undefined;
    const key = this.#openedKey(envelope);
    return key === undefined ? undefined : { value: this.#open(key, envelope, binding) };
  }

  /**
   * The unwrapped data key of an envelope, if cached. The last one found is kept beside the cache (until the cache's
   * entry would expire): nearly every field of a stream is under the data key of the field before it, and comparing
   * two strings is cheaper than building and hashing the cache key.
   */
  #openedKey(envelope: CiphertextEnvelope): KeyObject | undefined {
    const last = this.#lastOpened;
    if (last !== undefined && last.dk === envelope.dk && last.kid === envelope.kid && this.#clock() < last.expires) return last.key;
    const entry = this.#opened.entry(`${envelope.kid}|${envelope.dk}`);
    if (entry === undefined) return undefined;
    this.#lastOpened = { kid: envelope.kid, dk: envelope.dk, key: entry.value, expires: entry.expires };
    return entry.value;
  }

  #checkEnvelope(envelope: CiphertextEnvelope, binding: Omit<FieldBinding, 'schemaVersion'>): void {
    if (envelope.alg !== 'aes-256-gcm' || typeof envelope.kid !== 'string' || typeof envelope.ct !== 'string' || typeof envelope.dk !== 'string') {
      throw new EventError('ONEX_EVENT_633', `the ciphertext envelope at ${binding.path} is malformed.`, { details: { path: binding.path } });
    }
    if (envelope.pid !== this.#provider.id) {
      throw new EventError('ONEX_EVENT_630', `the field ${binding.path} was encrypted under provider ${envelope.pid}, not ${this.#provider.id}.`, {
        details: { path: binding.path, providerId: envelope.pid, keyId: envelope.kid },
      });
    }
  }

  #open(key: KeyObject, envelope: CiphertextEnvelope, binding: Omit<FieldBinding, 'schemaVersion'>): unknown {
    try {
      // Nonce and tag of the usual lengths are decoded into buffers kept for it: createDecipheriv and setAuthTag copy
      // what they are given, so nothing is allocated for them per field.
      const usual = envelope.iv.length === 16 && envelope.tag.length === 24;
      const iv = usual && NONCE.write(envelope.iv, 'base64') === 12 ? NONCE : Buffer.from(envelope.iv, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(associatedData(binding.eventId, binding.eventType, binding.path, envelope.sv, envelope.pid, envelope.kid));
      decipher.setAuthTag(usual && TAG.write(envelope.tag, 'base64') === 16 ? TAG : Buffer.from(envelope.tag, 'base64'));
      // The ciphertext goes in as its base64 text: the decipher decodes it, without a Buffer made for it here.
      const plain = decipher.update(envelope.ct, 'base64');
      decipher.final();
      return JSON.parse(plain.toString('utf8'));
    } catch (cause) {
      throw new EventError('ONEX_EVENT_607', `the field ${binding.path} of event ${binding.eventId} does not decrypt: it was altered or belongs to another field or event.`, {
        cause,
        details: { path: binding.path, eventId: binding.eventId, keyId: envelope.kid },
      });
    }
  }

  #makeDataKey(): Promise<DataKey> {
    this.#making ??= (async (): Promise<DataKey> => {
      const now = this.#clock();
      const kek = await this.#provider.currentKey(new Date(now));
      const raw = randomBytes(32);
      const wrapped = Buffer.from(await this.#provider.wrap(kek.id, raw)).toString('base64');
      const key = createSecretKey(raw);
      raw.fill(0);
      this.#opened.set(`${kek.id}|${wrapped}`, key);
      const dataKey: DataKey = { key, wrapped, kid: kek.id, ivPrefix: randomBytes(4), counter: 0, textHeads: new Map(), slot: Math.floor(now / this.#periodMs), expires: now + this.#ttlMs };
      this.#fresh = dataKey;
      return dataKey;
    })().finally(() => {
      this.#making = undefined;
    });
    return this.#making;
  }

  #unwrapped(kid: string, wrapped: string): Promise<KeyObject> {
    const slot = `${kid}|${wrapped}`;
    const cached = this.#decryptKeys.get(slot);
    if (cached !== undefined) return cached;
    const made = this.#provider.unwrap(kid, Buffer.from(wrapped, 'base64')).then((raw) => {
      const key = createSecretKey(Buffer.from(raw));
      this.#opened.set(slot, key);
      return key;
    });
    this.#decryptKeys.set(slot, made);
    made.catch(() => this.#decryptKeys.delete(slot));
    return made;
  }
}
