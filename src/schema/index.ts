/**
 * Public face of the schema module: the shipped schemas (avro/), version detection, compatibility checking, the
 * compatibility matrix, the Avro codec of events and the upcast / downcast chain.
 *
 * How a schema says its version: the top-level attribute "onex.version" in every .avsc, read together with a
 * fingerprint lookup of the shipped schemas (see detect.ts for why both).
 */
export { SCHEMA_VERSIONS, LATEST_VERSION, type SchemaVersion } from '../event/index.js';
export type { AvroSchemaInput, SchemaTypeOptions, ParsedSchema } from './parse.js';
export { parseSchema, schemaJson, schemaType, VERSION_ATTRIBUTE } from './parse.js';
export { avroDirectory, avroType, knownSchema, loadSchema, schemaFile, schemaText, versionOfFingerprint } from './known-schemas.js';
export { checkCompatibility, checkReaderWriter, COMPATIBILITY_MODES, isCompatibilityMode } from './compatibility.js';
export type { CompatibilityMode, CompatibilityReason, CompatibilityResult, IncompatibilityType } from './types.js';
export {
  detectEventVersion,
  detectRawEventVersion,
  detectSchemaVersion,
  detectVersion,
  type DetectedVersion,
  type DetectInput,
} from './detect.js';
export { decodeEvent, encodeEvent } from './codec.js';
export { schemaEngineStats, type AvscFallbackReason, type AvscPath, type SchemaEngineStats } from './engine-stats.js';
export { defaultSteps, resolverBetween, TransformChain, type CompiledRoute, type TransformFunction, type TransformStep } from './chain.js';
export { createDecoder, decodeAs, DEFAULT_CHAIN, transformEvent, type DecodeFunction, type WriterSchema } from './transform.js';
export { downcastToV1_3, flattenMetadata, typeMetadata, upcastToV2 } from './v2-bridge.js';
export { compileValueResolver, type ValueResolver } from './value-resolver.js';
export { auditSchemas, type AuditCheck, type SchemaAudit } from './audit.js';
export {
  checkCompatibilityMatrix,
  computeCompatibilityMatrix,
  DECLARED_READERS,
  PROTOCOL_READERS,
  renderMatrix,
  type CompatibilityMatrix,
  type MatrixCell,
  type MatrixReport,
} from './matrix.js';
