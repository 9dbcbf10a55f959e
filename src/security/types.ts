import type { SignatureAlgorithm } from './key-provider.js';

/**
 * The plain types other modules (the producer, the worker, replay) import from security: what a policy asks of one
 * event, and a signature with the facts it covers. The classes they use (RecordSecurity, SecurityPolicy, FieldCipher,
 * EventSigner, EventVerifier) and the options that hold those classes stay beside their code and come through
 * index.ts.
 */

export interface SignPolicy {
  /** Sign the events of these types. */
  readonly eventTypes?: readonly string[];
  /** Sign every event from these node ids. */
  readonly nodes?: readonly string[];
}

/** What the policy asks of one event. */
export interface SecurityPlan {
  /** Paths to encrypt, or undefined. */
  readonly encrypt: readonly string[] | undefined;
  readonly sign: boolean;
}

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
