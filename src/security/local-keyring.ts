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
  readonly hmacKey: KeyObject;
  readonly edPrivate: KeyObject;
  readonly edPublic: KeyObject;
}

function invalid(message: string): OnexRuntimeError {
  return new OnexRuntimeError('ONEX_RT_440', message);
}

function derive(secret: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `onex ${label}`, 32));
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
        hmacKey: createSecretKey(derive(secret, 'hmac')),
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
    return algorithm === 'ed25519' ? edSign(null, data, key.edPrivate) : createHmac('sha256', key.hmacKey).update(data).digest();
  }

  verifySync(keyId: string, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): boolean {
    const key = this.#key(keyId);
    if (algorithm === 'ed25519') return signature.length === 64 && edVerify(null, data, key.edPublic, signature);
    const expected = createHmac('sha256', key.hmacKey).update(data).digest();
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
