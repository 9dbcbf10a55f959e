import type { SchemaVersion } from '../event/index.js';

/**
 * The types other modules import from the codec: what a decode gives back and what a consumer of record values
 * (the worker) needs of a decoder. OnexEventCodec implements EventDecoder.
 */

export interface DecodedEvent<E = Record<string, unknown>> {
  /** The event in the target version. */
  event: E;
  /** The version the producer wrote, detected from the writer schema (never from a reader-side default). */
  writerVersion: SchemaVersion;
  schemaId: number;
}

/**
 * Record values to events of a target version. The event decode() returns is typed by the Avro schema of the target
 * version (every field there, with its type), so the worker's validation checks only what a schema cannot say
 * (validateDecodedEvent); a decoder that hands back looser events still gets its type errors.
 */
export interface EventDecoder {
  decode(value: Buffer, targetVersion: SchemaVersion): Promise<DecodedEvent<object>>;
  /** Optional: decode() without a promise when it needs no I/O, else undefined (OnexEventCodec has it). */
  decodeSync?(value: Buffer, targetVersion: SchemaVersion): DecodedEvent<object> | undefined;
  /**
   * Optional: the event in the version it was written in (no upcast or downcast). The worker's security stage
   * verifies and decrypts at the writer's version and transforms after, since a 2.0.0 event with encrypted fields
   * cannot be downcast to 1.x until they are decrypted (OnexEventCodec has it).
   */
  decodeWritten?(value: Buffer): Promise<DecodedEvent<object>>;
  /** Optional: decodeWritten() without a promise when it needs no I/O, else undefined (OnexEventCodec has it). */
  decodeWrittenSync?(value: Buffer): DecodedEvent<object> | undefined;
}

/**
 * What the codec needs of a schema registry. RegistryClient (src/registry) is the real one; anything
 * Confluent-compatible can stand behind it.
 */
export interface SchemaRegistryLike {
  /** Registers the schema under the subject (or finds it there) and returns its global id. */
  register(subject: string, schema: string): Promise<number>;
  /** The writer schema text of a global id. */
  getSchema(id: number): Promise<string>;
}
