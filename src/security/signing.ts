import { EventError, OnexRuntimeError } from '../errors/index.js';
import type { KeyProvider, SignatureAlgorithm } from './key-provider.js';
import { usableKey } from './rotation.js';

/**
 * Event signing (docs/security.md) over a canonical form: the Avro body exactly as written plus the headers that
 * carry meaning (event type, schema version, key id, algorithm). Tracing headers are never part of it: tools
 * rewrite them.
 */

export interface SignedFacts {
  readonly eventType: string;
  readonly schemaVersion: string;
  readonly keyId: string;
  readonly algorithm: SignatureAlgorithm;
}

export interface EventSignature extends SignedFacts {
  /** Base64. */
  readonly signature: string;
}

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = ['ed25519', 'hmac-sha256'];

/** The bytes signed: a length-prefixed sequence, so no two different inputs give the same bytes. */
export function canonicalForm(body: Uint8Array, facts: SignedFacts): Buffer {
  const parts = [Buffer.from('onex-sig-1'), Buffer.from(facts.algorithm), Buffer.from(facts.keyId), Buffer.from(facts.eventType), Buffer.from(facts.schemaVersion), Buffer.from(body)];
  const out: Buffer[] = [];
  for (const part of parts) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(part.length);
    out.push(length, part);
  }
  return Buffer.concat(out);
}

export class EventSigner {
  readonly #provider: KeyProvider;
  readonly algorithm: SignatureAlgorithm;
  readonly #clock: () => number;

  constructor(options: { provider: KeyProvider; algorithm?: SignatureAlgorithm; clock?: () => number }) {
    const algorithm = options.algorithm ?? 'ed25519';
    if (!SIGNATURE_ALGORITHMS.includes(algorithm)) {
      throw new OnexRuntimeError('ONEX_RT_407', `algorithm must be one of ${SIGNATURE_ALGORITHMS.join(', ')}, got ${String(algorithm)}.`);
    }
    this.#provider = options.provider;
    this.algorithm = algorithm;
    this.#clock = options.clock ?? Date.now;
  }

  async sign(body: Uint8Array, event: { eventType: string; schemaVersion: string }): Promise<EventSignature> {
    const key = await this.#provider.currentKey(new Date(this.#clock()));
    const facts: SignedFacts = { ...event, keyId: key.id, algorithm: this.algorithm };
    const signature = await this.#provider.sign(key.id, this.algorithm, canonicalForm(body, facts));
    return { ...facts, signature: Buffer.from(signature).toString('base64') };
  }
}

export class EventVerifier {
  readonly #provider: KeyProvider;
  readonly #clock: () => number;

  constructor(options: { provider: KeyProvider; clock?: () => number }) {
    this.#provider = options.provider;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Verifies a signature; `signature` undefined means the event carried none. Throws ONEX_EVENT_632 (missing, when
   * required), 630 (unknown key), 631 (retired key) or 606 (bad signature). Returns false for an unsigned event
   * when signing is not required.
   */
  async verify(body: Uint8Array, signature: EventSignature | undefined, required: boolean): Promise<boolean> {
    if (signature === undefined) {
      if (required) throw new EventError('ONEX_EVENT_632', 'the event carries no signature and signing is required for it.');
      return false;
    }
    if (!SIGNATURE_ALGORITHMS.includes(signature.algorithm)) {
      throw new EventError('ONEX_EVENT_606', `the event's signature algorithm ${String(signature.algorithm)} is not supported.`);
    }
    await usableKey(this.#provider, signature.keyId, new Date(this.#clock()));
    const ok = await this.#provider.verify(signature.keyId, signature.algorithm, canonicalForm(body, signature), Buffer.from(signature.signature, 'base64'));
    if (!ok) {
      throw new EventError('ONEX_EVENT_606', `the event's ${signature.algorithm} signature under key ${signature.keyId} does not match its body and headers.`, {
        details: { keyId: signature.keyId, algorithm: signature.algorithm },
      });
    }
    return true;
  }
}
