/**
 * The key provider seam (docs/security.md). A provider holds key-encryption keys and signing keys; the pipeline
 * never sees a key-encryption key, it only asks the provider to wrap and unwrap data keys and to sign and verify.
 * A KMS (AWS KMS, GCP KMS, Vault transit) is an adapter implementing this interface; LocalKeyringProvider is the
 * one shipped, for development and tests.
 */

export type SignatureAlgorithm = 'ed25519' | 'hmac-sha256';

export interface KeyInfo {
  /** Key id, unique within the provider. */
  readonly id: string;
  /** The key is used for new data keys and signatures from this time. */
  readonly activeFrom: Date;
  /** When the next key took over (undefined for the current key). */
  readonly supersededAt: Date | undefined;
}

export interface KeyProvider {
  /** Provider id, written beside every key id (e.g. `local`, `aws-kms`). */
  readonly id: string;
  /** The key to use for new data keys and signatures at `at`. */
  currentKey(at: Date): Promise<KeyInfo>;
  /**
   * Facts about a key, or undefined when the provider does not know it. The pipeline refuses a key whose
   * supersededAt + rotation window has passed (ONEX_EVENT_631).
   */
  keyInfo(keyId: string): Promise<KeyInfo | undefined>;
  /** How long a superseded key still decrypts and verifies, in milliseconds. */
  readonly rotationWindowMs: number;
  /** Encrypts a data key under key `keyId`; the result is opaque to the pipeline. */
  wrap(keyId: string, dataKey: Uint8Array): Promise<Uint8Array>;
  /** Reverses wrap; throws ONEX_EVENT_607 when the wrapped key does not open under `keyId`. */
  unwrap(keyId: string, wrapped: Uint8Array): Promise<Uint8Array>;
  /** Signs `data` with key `keyId`. */
  sign(keyId: string, algorithm: SignatureAlgorithm, data: Uint8Array): Promise<Uint8Array>;
  /** True when `signature` is `keyId`'s signature of `data`. */
  verify(keyId: string, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /**
   * Optional: sign() without a promise, for a provider that holds the key in the process (the local keyring; a KMS
   * that signs remotely leaves it out, or returns undefined when it cannot answer now). Saves a promise per event.
   */
  signSync?(keyId: string, algorithm: SignatureAlgorithm, data: Uint8Array): Uint8Array | undefined;
  /**
   * Optional: verify() without a promise (as signSync); undefined when it cannot answer now. `data` and `signature`
   * are valid only for the call: the verifier reuses their buffers for the next record.
   */
  verifySync?(keyId: string, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): boolean | undefined;
}
