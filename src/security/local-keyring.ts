import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  hkdfSync,
  randomBytes,
  sign as edSign,
  timingSafeEqual,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EventError, OnexRuntimeError } from '../errors/index.js';
import type { KeyInfo, KeyProvider, SignatureAlgorithm } from './key-provider.js';

/**
 * The local keyring: key-encryption and signing keys derived (HKDF-SHA256) from 32-byte secrets held in a JSON file
 * or an environment variable. For development and tests; production keys belong in a KMS behind an adapter.
 *
 * File format (docs/security.md):
 * `{ "rotation_window_ms": 604800000, "keys": [{ "id": "k1", "active_from": "2026-01-01T00:00:00Z", "secret": "<base64 32 bytes>" }] }`
 */
export interface KeyringEntry {
  readonly id: string;
  readonly active_from: string;
  readonly secret: string;
}

export interface KeyringFile {
  readonly rotation_window_ms?: number;
  readonly keys: readonly KeyringEntry[];
}

export const DEFAULT_ROTATION_WINDOW_MS = 7 * 24 * 3600 * 1000;
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

interface LoadedKey {
  readonly info: KeyInfo;
  /** KeyObjects, imported once: createHmac or createCipheriv with a raw Buffer imports the key on every call. */
  readonly kek: KeyObject;
  readonly hmac: HmacSha256;
  readonly edPrivate: KeyObject;
  readonly edPublic: KeyObject;
}

function invalid(message: string): OnexRuntimeError {
  return new OnexRuntimeError('ONEX_RT_440', message);
}

function derive(secret: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `onex ${label}`, 32));
}

/** crypto.hash, a one-shot digest (Node 20.12 and later); undefined before. */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, outputEncoding: 'binary') => string }).hash;
/** Messages up to this size are hashed from a scratch buffer kept per key; longer ones (rare) through createHmac. */
const SCRATCH_MAX = 64 * 1024;

/**
 * HMAC-SHA256 (RFC 2104: SHA-256 of the outer pad and SHA-256 of the inner pad and the message) as two one-shot
 * digests, with the pads made once per key. createHmac builds an Hmac object and digest() a native Buffer per call:
 * for a 1 KB event that cost more than the hashing (2.7 against 1.5 us). The digests come back as binary strings,
 * written into scratch buffers, so nothing native is allocated per call. Without crypto.hash, createHmac.
 */
class HmacSha256 {
  readonly #key: KeyObject;
  #inner: Buffer | undefined;
  readonly #outer: Buffer | undefined;
  readonly #mac = Buffer.alloc(32);

  constructor(key: Buffer) {
    this.#key = createSecretKey(key);
    if (oneShotHash === undefined) return;
    // A 32-byte key is shorter than SHA-256's 64-byte block: the pads are the key, zero-filled, XOR 0x36 and 0x5c.
    const inner = Buffer.alloc(64 + 1024, 0x36);
    const outer = Buffer.alloc(64 + 32, 0x5c);
    for (let i = 0; i < key.length; i++) {
      inner[i] = 0x36 ^ key[i]!;
      outer[i] = 0x5c ^ key[i]!;
    }
    this.#inner = inner;
    this.#outer = outer;
  }

  /** The MAC of `data`, in a buffer valid until the next call on this key. */
  macOf(data: Uint8Array): Buffer {
    const outer = this.#outer;
    if (oneShotHash === undefined || outer === undefined || data.length > SCRATCH_MAX) return createHmac('sha256', this.#key).update(data).digest();
    let inner = this.#inner!;
    if (inner.length < 64 + data.length) {
      const grown = Buffer.allocUnsafe(64 + Math.min(SCRATCH_MAX, Math.max(data.length, 2 * (inner.length - 64))));
      inner.copy(grown, 0, 0, 64);
      this.#inner = inner = grown;
    }
    inner.set(data, 64);
    outer.write(oneShotHash('sha256', inner.subarray(0, 64 + data.length), 'binary'), 64, 'latin1');
    this.#mac.write(oneShotHash('sha256', outer, 'binary'), 0, 'latin1');
    return this.#mac;
  }
}

export class LocalKeyringProvider implements KeyProvider {
  readonly id: string;
  readonly rotationWindowMs: number;
  readonly #keys: LoadedKey[];
  readonly #byId = new Map<string, LoadedKey>();

  constructor(keyring: KeyringFile, options: { id?: string; rotationWindowMs?: number } = {}) {
    this.id = options.id ?? 'local';
    const window = options.rotationWindowMs ?? keyring.rotation_window_ms ?? DEFAULT_ROTATION_WINDOW_MS;
    if (!Number.isFinite(window) || window < 0) throw invalid(`keyring rotation_window_ms must be a number >= 0, got ${String(window)}.`);
    this.rotationWindowMs = window;
    if (!Array.isArray(keyring.keys) || keyring.keys.length === 0) throw invalid('keyring has no keys; add one with onex keys rotate.');
    const sorted = [...keyring.keys].map((entry, index) => {
      if (typeof entry?.id !== 'string' || entry.id === '') throw invalid(`keyring key ${index} has no id.`);
      const activeFrom = new Date(entry.active_from);
      if (Number.isNaN(activeFrom.getTime())) throw invalid(`keyring key ${entry.id} has an invalid active_from.`);
      const secret = Buffer.from(typeof entry.secret === 'string' ? entry.secret : '', 'base64');
      if (secret.length !== 32) throw invalid(`keyring key ${entry.id} secret must be 32 bytes in base64.`);
      return { entry, activeFrom, secret };
    });
    sorted.sort((a, b) => a.activeFrom.getTime() - b.activeFrom.getTime());
    this.#keys = sorted.map(({ entry, activeFrom, secret }, index) => {
      if (this.#byId.has(entry.id)) throw invalid(`keyring key id ${entry.id} appears twice.`);
      const next = sorted[index + 1];
      const edPrivate = createPrivateKey({
        key: Buffer.concat([ED25519_PKCS8_PREFIX, derive(secret, 'ed25519')]),
        format: 'der',
        type: 'pkcs8',
      });
      const loaded: LoadedKey = {
        info: { id: entry.id, activeFrom, supersededAt: next?.activeFrom },
        kek: createSecretKey(derive(secret, 'kek')),
        hmac: new HmacSha256(derive(secret, 'hmac')),
        edPrivate,
        edPublic: createPublicKey(edPrivate),
      };
      this.#byId.set(entry.id, loaded);
      return loaded;
    });
  }

  /** Reads a keyring file (JSON). */
  static fromFile(path: string, options?: { id?: string; rotationWindowMs?: number }): LocalKeyringProvider {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new OnexRuntimeError('ONEX_RT_440', `keyring file ${path} cannot be read.`, { cause });
    }
    return new LocalKeyringProvider(parseKeyring(text, `keyring file ${path}`), options);
  }

  /** Reads the keyring from an environment variable holding its JSON (or that JSON in base64). */
  static fromEnv(name = 'ONEX_KEYRING', options?: { id?: string; rotationWindowMs?: number }, env: NodeJS.ProcessEnv = process.env): LocalKeyringProvider {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') throw invalid(`environment variable ${name} holds no keyring.`);
    const text = raw.trim().startsWith('{') ? raw : Buffer.from(raw, 'base64').toString('utf8');
    return new LocalKeyringProvider(parseKeyring(text, `environment variable ${name}`), options);
  }

  async currentKey(at: Date): Promise<KeyInfo> {
    let current: LoadedKey | undefined;
    for (const key of this.#keys) if (key.info.activeFrom.getTime() <= at.getTime()) current = key;
    if (current === undefined) throw invalid(`keyring has no key active at ${at.toISOString()}.`);
    return current.info;
  }

  async keyInfo(keyId: string): Promise<KeyInfo | undefined> {
    return this.#byId.get(keyId)?.info;
  }

  /** Every key, oldest first. */
  list(): readonly KeyInfo[] {
    return this.#keys.map((key) => key.info);
  }

  async wrap(keyId: string, dataKey: Uint8Array): Promise<Uint8Array> {
    const key = this.#key(keyId);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.kek, iv);
    cipher.setAAD(Buffer.from(`onex-wrap|${this.id}|${keyId}`));
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  async unwrap(keyId: string, wrapped: Uint8Array): Promise<Uint8Array> {
    const key = this.#key(keyId);
    const bytes = Buffer.from(wrapped);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.kek, bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(`onex-wrap|${this.id}|${keyId}`));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
    } catch (cause) {
      throw new EventError('ONEX_EVENT_607', `the data key does not open under key ${keyId}.`, { cause, details: { keyId } });
    }
  }

  async sign(keyId: string, algorithm: SignatureAlgorithm, data: Uint8Array): Promise<Uint8Array> {
    return this.signSync(keyId, algorithm, data);
  }

  async verify(keyId: string, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return this.verifySync(keyId, algorithm, data, signature);
  }

  /** The keys are in the process, so signing and verifying never wait. */
  signSync(keyId: string, algorithm: SignatureAlgorithm, data: Uint8Array): Uint8Array {
    const key = this.#key(keyId);
    return algorithm === 'ed25519' ? edSign(null, data, key.edPrivate) : Buffer.from(key.hmac.macOf(data));
  }

  verifySync(keyId: string, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): boolean {
    const key = this.#key(keyId);
    if (algorithm === 'ed25519') return signature.length === 64 && edVerify(null, data, key.edPublic, signature);
    const expected = key.hmac.macOf(data);
    return signature.length === expected.length && timingSafeEqual(expected, signature);
  }

  #key(keyId: string): LoadedKey {
    const key = this.#byId.get(keyId);
    if (key === undefined) {
      throw new EventError('ONEX_EVENT_630', `key ${keyId} is unknown to key provider ${this.id}.`, { details: { keyId } });
    }
    return key;
  }
}

export function parseKeyring(text: string, source: string): KeyringFile {
  try {
    return JSON.parse(text) as KeyringFile;
  } catch (cause) {
    throw new OnexRuntimeError('ONEX_RT_440', `${source} is not JSON.`, { cause });
  }
}

/** A new keyring entry with a random secret, active from `activeFrom`. */
export function newKeyringEntry(activeFrom: Date, id = `k-${activeFrom.toISOString().replace(/[:.]/g, '')}`): KeyringEntry {
  return { id, active_from: activeFrom.toISOString(), secret: randomBytes(32).toString('base64') };
}
