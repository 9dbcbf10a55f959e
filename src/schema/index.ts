/**
 * Public face of the schema module: loading avro/, version detection, compatibility checking, upcast / downcast.
 * First cut published early so that registry / producer / worker can code against the signatures; bodies harden
 * in the following commits.
 */
import { readFileSync } from 'node:fs';
import { onexError } from '../errors/index.js';

export type CompatibilityMode =
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE'
  | 'NONE';
export interface CompatibilityReason {
  rule: string;
  path: string;
  message: string;
}
export interface CompatibilityResult {
  compatible: boolean;
  reasons: CompatibilityReason[];
}
export type AvroSchemaInput = string | object;
export type SchemaVersion = '1.0.0' | '1.1.0' | '1.2.0' | '1.3.0' | '2.0.0';
export const SCHEMA_VERSIONS: readonly SchemaVersion[] = Object.freeze(['1.0.0', '1.1.0', '1.2.0', '1.3.0', '2.0.0']);

export function loadSchema(version: SchemaVersion): object {
  const url = new URL(`../../avro/onex-event/v${version}.avsc`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as object;
}

export function checkCompatibility(
  _previous: AvroSchemaInput | AvroSchemaInput[],
  _next: AvroSchemaInput,
  _mode: CompatibilityMode,
): CompatibilityResult {
  throw onexError('ONEX_SCHEMA_700', 'checkCompatibility is not implemented yet.');
}

export function detectEventVersion(input: object | { schema: AvroSchemaInput }): SchemaVersion {
  const v = (input as { schema_version?: unknown }).schema_version;
  return (typeof v === 'string' ? v : '1.0.0') as SchemaVersion;
}

export function transformEvent(_event: object, _targetVersion: SchemaVersion): object {
  throw onexError('ONEX_SCHEMA_702', 'transformEvent is not implemented yet.');
}
