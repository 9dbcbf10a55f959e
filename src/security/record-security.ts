import { EventError } from '../errors/index.js';
import { flags as processFlags, type FlagSet } from '../flags/index.js';
import type { FieldCipher } from './field-encryption.js';
import { decryptEventFieldsNow } from './event-fields.js';
import type { SignatureAlgorithm } from './key-provider.js';
import { type EventSignature, type EventSigner, EventVerifier } from './signing.js';

/**
 * Security on Kafka records: the signature headers, and the check the worker runs after decoding and before
 * validation and handlers (verify the record value as written, then decrypt the event's encrypted fields).
 */

export const SECURITY_HEADERS = {
  signature: 'onex-signature',
  keyId: 'onex-key-id',
  algorithm: 'onex-signature-alg',
} as const;

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

function text(headers: Record<string, HeaderValue> | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

/** The headers that carry a signature of `value` (the record value exactly as written). */
export async function signatureHeaders(
  signer: EventSigner,
  value: Uint8Array,
  event: { eventType: string; schemaVersion: string },
): Promise<Record<string, string>> {
  return signatureHeadersOf(await signer.sign(value, event));
}

/** The headers that carry `signature`. */
export function signatureHeadersOf(signature: EventSignature): Record<string, string> {
  return { [SECURITY_HEADERS.signature]: signature.signature, [SECURITY_HEADERS.keyId]: signature.keyId, [SECURITY_HEADERS.algorithm]: signature.algorithm };
}

/** The signature a record's headers carry, or undefined when it has none. */
export function readSignature(
  headers: Record<string, HeaderValue> | undefined,
  event: { eventType: string; schemaVersion: string },
): EventSignature | undefined {
  const signature = text(headers, SECURITY_HEADERS.signature);
  if (signature === undefined) return undefined;
  const keyId = text(headers, SECURITY_HEADERS.keyId);
  if (keyId === undefined) throw new EventError('ONEX_EVENT_606', `the record is signed but carries no ${SECURITY_HEADERS.keyId} header.`);
  const algorithm = (text(headers, SECURITY_HEADERS.algorithm) ?? 'ed25519') as SignatureAlgorithm;
  // Field by field, not { ...event, keyId, ... }: a spread followed by new properties is a slow path in V8.
  return { eventType: event.eventType, schemaVersion: event.schemaVersion, keyId, algorithm, signature };
}

export interface RecordSecurityOptions {
  /** Verifies signatures; required when requireSignature can be true. */
  readonly verifier?: EventVerifier;
  /** Decrypts encrypted fields; without it the handler sees the ciphertext envelopes. */
  readonly cipher?: FieldCipher;
  /** Whether an event must be signed (per event type and node); default: never. */
  readonly requireSignature?: (event: { event_type: string; node_id?: string }) => boolean;
  /** Feature flags onex.security.signing and onex.security.encryption switch the two off (default: process flags). */
  readonly flags?: FlagSet;
}

export class RecordSecurity {
  readonly #o: RecordSecurityOptions;
  readonly #flags: FlagSet;

  constructor(options: RecordSecurityOptions) {
    this.#o = options;
    this.#flags = options.flags ?? processFlags;
  }

  /**
   * The event the handlers see: the record verified (when signed, or when a signature is required) and its fields
   * decrypted. Throws the ONEX security error that sends the record to the dead-letter topic. `inPlace`: the caller
   * owns `event` (decoded for this record) and the fields are decrypted into it rather than into a copy
   * (decryptEventFieldsNow).
   */
  async check<E extends { event_id: string; event_type: string; node_id?: string }>(
    value: Uint8Array,
    headers: Record<string, HeaderValue> | undefined,
    event: E,
    schemaVersion: string,
    options?: { readonly inPlace?: boolean },
  ): Promise<E> {
    return this.checkNow(value, headers, event, schemaVersion, options);
  }

  /** check() without a promise while the keys it needs are cached and the provider answers synchronously. */
  checkNow<E extends { event_id: string; event_type: string; node_id?: string }>(
    value: Uint8Array,
    headers: Record<string, HeaderValue> | undefined,
    event: E,
    schemaVersion: string,
    options?: { readonly inPlace?: boolean },
  ): E | Promise<E> {
    const o = this.#o;
    if (this.#flags.isEnabled('onex.security.signing', true)) {
      const facts = { eventType: event.event_type, schemaVersion };
      const signature = readSignature(headers, facts);
      const required = o.requireSignature?.(event) ?? false;
      if (signature !== undefined || required) {
        const verifier = o.verifier;
        if (verifier === undefined) throw new EventError('ONEX_EVENT_630', 'the record is signed but the worker has no verification keys.');
        if (verifier.verifySync(value, signature, required) === undefined) {
          return verifier.verify(value, signature, required).then(() => this.#decrypted(event, options));
        }
      }
    }
    return this.#decrypted(event, options);
  }

  #decrypted<E extends { event_id: string; event_type: string }>(event: E, options: { readonly inPlace?: boolean } | undefined): E | Promise<E> {
    const cipher = this.#o.cipher;
    return cipher !== undefined && this.#flags.isEnabled('onex.security.encryption', true) ? decryptEventFieldsNow(event, cipher, options) : event;
  }
}
