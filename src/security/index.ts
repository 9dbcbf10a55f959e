export type { KeyInfo, KeyProvider, SignatureAlgorithm } from './key-provider.js';
export {
  DEFAULT_ROTATION_WINDOW_MS,
  type KeyringEntry,
  type KeyringFile,
  LocalKeyringProvider,
  newKeyringEntry,
  parseKeyring,
} from './local-keyring.js';
export { usableKey } from './rotation.js';
export { TtlCache } from './ttl-cache.js';
export {
  type CiphertextEnvelope,
  COMPACT_ENVELOPE_PREFIX,
  ENVELOPE_TEXT_PREFIX,
  envelopeToText,
  type FieldBinding,
  FieldCipher,
  type FieldCipherOptions,
  isCiphertextEnvelope,
  readEnvelope,
} from './field-encryption.js';
export { checkFieldPath, decryptEventFields, decryptEventFieldsNow, encryptEventFields, encryptEventFieldsNow, findEnvelopes } from './event-fields.js';
export {
  canonicalForm,
  type EventSignature,
  EventSigner,
  EventVerifier,
  SIGNATURE_ALGORITHMS,
  type SignedFacts,
} from './signing.js';
export {
  readSignature,
  RecordSecurity,
  type RecordSecurityOptions,
  SECURITY_HEADERS,
  signatureHeaders,
  signatureHeadersOf,
} from './record-security.js';
export { type SecurityPlan, SecurityPolicy, type SecurityPolicyOptions, securityPolicy, type SignPolicy } from './policy.js';
export { loadSecurityRules, parseSecurityRules, type SecurityRules } from './rules.js';
