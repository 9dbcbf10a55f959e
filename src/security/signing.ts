import { EventError, OnexRuntimeError } from '../errors/index.js';
import type { KeyProvider, SignatureAlgorithm } from './key-provider.js';
import { KeyInfoCache } from './rotation.js';
import type { EventSignature, SignedFacts } from './types.js';

export type { EventSignature, SignedFacts } from './types.js';

/**
 * Event signing (docs/security.md) over a canonical form: the Avro body exactly as written plus the headers that
 * carry meaning (event type, schema version, key id, algorithm). Tracing headers are never part of it: tools
 * rewrite them.
 */

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = ['ed25519', 'hmac-sha256'];

/** The bytes signed: a length-prefixed sequence, so no two different inputs give the same bytes. */
export function canonicalForm(body: Uint8Array, facts: SignedFacts): Buffer {
  const head = canonicalHead(facts);
  return canonicalInto(Buffer.allocUnsafe(head.length + 4 + body.length), head, body);
}

function canonicalInto(out: Buffer, head: Buffer, body: Uint8Array): Buffer {
  head.copy(out, 0);
  out.writeUInt32BE(body.length, head.length);
  out.set(body, head.length + 4);
  return out;
}

/**
 * The canonical form in a buffer reused from call to call (valid until the next), for verifySync: the provider
 * answers before it returns, and a new buffer per record (a slice of Node's pool, a new 8 KiB pool every few
 * records) was garbage. Bodies past 64 KiB get their own buffer.
 */
let scratch = Buffer.allocUnsafe(4096);
function canonicalScratch(body: Uint8Array, facts: SignedFacts): Buffer {
  const head = canonicalHead(facts);
  const length = head.length + 4 + body.length;
  if (length > 64 * 1024) return canonicalForm(body, facts);
  if (scratch.length < length) scratch = Buffer.allocUnsafe(Math.min(64 * 1024, 2 * length));
  return canonicalInto(scratch, head, body).subarray(0, length);
}

/** Scratch for a 32-byte MAC (HMAC-SHA256) decoded from its base64 text, for verifySync as the canonical form. */
const MAC32 = Buffer.alloc(32);

/**
 * The signature's bytes. The 44 characters of a 32-byte MAC (43 and one `=`, so no more than 32 bytes) decode into
 * MAC32 when they are all base64; anything else is decoded as before, by Buffer.from.
 */
function signatureBytes(text: string): Buffer {
  if (text.length === 44 && text.charCodeAt(43) === 0x3d && text.charCodeAt(42) !== 0x3d && MAC32.write(text, 'base64') === 32) return MAC32;
  return Buffer.from(text, 'base64');
}

/**
 * Everything before the body, cached per (algorithm, key id, event type, schema version): a handful per stream,
 * found by event type and then compared, without building a key string per event.
 */
interface Head extends SignedFacts {
  readonly bytes: Buffer;
}
const heads = new Map<string, Head[]>();
function canonicalHead(facts: SignedFacts): Buffer {
  let list = heads.get(facts.eventType);
  if (list !== undefined) {
    for (const head of list) {
      if (head.schemaVersion === facts.schemaVersion && head.keyId === facts.keyId && head.algorithm === facts.algorithm) return head.bytes;
    }
  } else {
    if (heads.size >= 1024) heads.clear();
    heads.set(facts.eventType, (list = []));
  }
  const parts = [Buffer.from('onex-sig-1'), Buffer.from(facts.algorithm), Buffer.from(facts.keyId), Buffer.from(facts.eventType), Buffer.from(facts.schemaVersion)];
  const out: Buffer[] = [];
  for (const part of parts) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(part.length);
    out.push(length, part);
  }
  const bytes = Buffer.concat(out);
  if (list.length >= 16) list.length = 0;
  list.push({ eventType: facts.eventType, schemaVersion: facts.schemaVersion, keyId: facts.keyId, algorithm: facts.algorithm, bytes });
  return bytes;
}

/** A Uint8Array as base64 without copying it. */
function base64(bytes: Uint8Array): string {
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('base64');
}

/**
 * The signature object, written out field by field: in V8 a spread followed by properties the spread object lacks
 * (`{ ...facts, signature }`) takes a slow path that cost more than the rest of signing but the HMAC.
 */
function signed(facts: SignedFacts, signature: Uint8Array): EventSignature {
  return { eventType: facts.eventType, schemaVersion: facts.schemaVersion, keyId: facts.keyId, algorithm: facts.algorithm, signature: base64(signature) };
}

export class EventSigner {
  readonly #provider: KeyProvider;
  readonly algorithm: SignatureAlgorithm;
  readonly #keys: KeyInfoCache;

  /**
   * `keyCacheMs` (default 1000): how long the provider's current key is reused before it is asked again (and up to
   * that long again while it answers, see KeyInfoCache.currentSync).
   */
  constructor(options: { provider: KeyProvider; algorithm?: SignatureAlgorithm; clock?: () => number; keyCacheMs?: number }) {
    const algorithm = options.algorithm ?? 'ed25519';
    if (!SIGNATURE_ALGORITHMS.includes(algorithm)) {
      throw new OnexRuntimeError('ONEX_RT_407', `algorithm must be one of ${SIGNATURE_ALGORITHMS.join(', ')}, got ${String(algorithm)}.`);
    }
    const keyCacheMs = options.keyCacheMs ?? 1000;
    if (!(keyCacheMs >= 0)) throw new OnexRuntimeError('ONEX_RT_407', `keyCacheMs must be >= 0, got ${String(keyCacheMs)}.`);
    this.#provider = options.provider;
    this.algorithm = algorithm;
    this.#keys = new KeyInfoCache(options.provider, keyCacheMs, options.clock ?? Date.now);
  }

  async sign(body: Uint8Array, event: { eventType: string; schemaVersion: string }): Promise<EventSignature> {
    const key = this.#keys.currentSync() ?? (await this.#keys.current());
    const facts: SignedFacts = { eventType: event.eventType, schemaVersion: event.schemaVersion, keyId: key.id, algorithm: this.algorithm };
    const data = canonicalForm(body, facts);
    const signature = this.#provider.signSync?.(key.id, this.algorithm, data) ?? (await this.#provider.sign(key.id, this.algorithm, data));
    return signed(facts, signature);
  }

  /** Asks the provider for its current key now, so the first events sign without a promise (the producer's start). */
  async ready(): Promise<void> {
    await this.#keys.current();
  }

  /** sign() without a promise when the current key is cached and the provider signs synchronously; else undefined. */
  signSync(body: Uint8Array, event: { eventType: string; schemaVersion: string }): EventSignature | undefined {
    const key = this.#keys.currentSync();
    if (key === undefined || this.#provider.signSync === undefined) return undefined;
    const facts: SignedFacts = { eventType: event.eventType, schemaVersion: event.schemaVersion, keyId: key.id, algorithm: this.algorithm };
    const signature = this.#provider.signSync(key.id, this.algorithm, canonicalForm(body, facts));
    return signature === undefined ? undefined : signed(facts, signature);
  }
}

export class EventVerifier {
  readonly #provider: KeyProvider;
  readonly #keys: KeyInfoCache;

  /** `keyCacheMs` (default 60000): how long a key's facts are reused before the provider is asked again. */
  constructor(options: { provider: KeyProvider; clock?: () => number; keyCacheMs?: number }) {
    const keyCacheMs = options.keyCacheMs ?? 60_000;
    if (!(keyCacheMs >= 0)) throw new OnexRuntimeError('ONEX_RT_407', `keyCacheMs must be >= 0, got ${String(keyCacheMs)}.`);
    this.#provider = options.provider;
    this.#keys = new KeyInfoCache(options.provider, keyCacheMs, options.clock ?? Date.now);
  }

  /**
   * Verifies a signature; `signature` undefined means the event carried none. Throws ONEX_EVENT_632 (missing, when
   * required), 630 (unknown key), 631 (retired key) or 606 (bad signature). Returns false for an unsigned event
   * when signing is not required.
   */
  async verify(body: Uint8Array, signature: EventSignature | undefined, required: boolean): Promise<boolean> {
    if (!this.#present(signature, required)) return false;
    if (this.#keys.usableSync(signature.keyId) === undefined) await this.#keys.usable(signature.keyId);
    const data = canonicalForm(body, signature);
    const mac = Buffer.from(signature.signature, 'base64');
    const ok = this.#provider.verifySync?.(signature.keyId, signature.algorithm, data, mac) ?? (await this.#provider.verify(signature.keyId, signature.algorithm, data, mac));
    return this.#checked(ok, signature);
  }

  /**
   * verify() without a promise when the key's facts are cached and the provider verifies synchronously; undefined
   * when it cannot answer so (then call verify). Throws as verify does.
   */
  verifySync(body: Uint8Array, signature: EventSignature | undefined, required: boolean): boolean | undefined {
    if (!this.#present(signature, required)) return false;
    if (this.#provider.verifySync === undefined || this.#keys.usableSync(signature.keyId) === undefined) return undefined;
    const ok = this.#provider.verifySync(signature.keyId, signature.algorithm, canonicalScratch(body, signature), signatureBytes(signature.signature));
    return ok === undefined ? undefined : this.#checked(ok, signature);
  }

  #present(signature: EventSignature | undefined, required: boolean): signature is EventSignature {
    if (signature === undefined) {
      if (required) throw new EventError('ONEX_EVENT_632', 'the event carries no signature and signing is required for it.');
      return false;
    }
    if (!SIGNATURE_ALGORITHMS.includes(signature.algorithm)) {
      throw new EventError('ONEX_EVENT_606', `the event's signature algorithm ${String(signature.algorithm)} is not supported.`);
    }
    return true;
  }

  #checked(ok: boolean, signature: EventSignature): true {
    if (!ok) {
      throw new EventError('ONEX_EVENT_606', `the event's ${signature.algorithm} signature under key ${signature.keyId} does not match its body and headers.`, {
        details: { keyId: signature.keyId, algorithm: signature.algorithm },
      });
    }
    return true;
  }
}
