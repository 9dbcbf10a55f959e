/** The schema module's types that other modules (the registry, the CLI) use. */

/** A compatibility level: Confluent's registry's names, checked by the rules of compatibility.ts. */
export type CompatibilityMode =
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE'
  | 'NONE';

export type IncompatibilityType =
  | 'NAME_MISMATCH'
  | 'FIXED_SIZE_MISMATCH'
  | 'MISSING_ENUM_SYMBOLS'
  | 'READER_FIELD_MISSING_DEFAULT_VALUE'
  | 'TYPE_MISMATCH'
  | 'MISSING_UNION_BRANCH';

export interface CompatibilityReason {
  /** An IncompatibilityType. */
  rule: string;
  /** Where, in the reader schema: "OnexEvent.metadata", "OnexEvent.replay.speed", "OnexEvent.tags[]". */
  path: string;
  message: string;
}

export interface CompatibilityResult {
  compatible: boolean;
  reasons: CompatibilityReason[];
}
