import type avro from 'avsc';
import { countAvscFallback, type AvscFallbackReason } from './engine-stats.js';
import { isOnexError, onexError } from '../errors/index.js';
import { isPlainObject, isTypedEventType, majorOf, versionAtLeast, type AnyOnexEvent, type OnexEventByVersion, type SchemaVersion } from '../event/index.js';
import { compileCodec, compileResolution, type CompiledCodec, type CompileOptions } from './compile.js';
import { detectRawEventVersion } from './detect.js';
import { knownSchema } from './known-schemas.js';
import type { ParsedSchema } from './parse.js';
import { V2_METADATA_BRANCHES, V2_UNTYPED_BRANCH } from './v2-bridge.js';

/**
 * Avro body encoding of events (the Confluent framing, magic byte and schema id, is the registry's business).
 *
 * Thanks to the logical types, avsc values are the event form, with one exception: avsc represents the 2.0.0
 * metadata union, several records, wrapped as { "onex.event.NodeStartMetadata": {...} }. The event form carries
 * the record itself and lets event_type say which one it is; this module wraps and unwraps.
 */

const SCHEMA_VERSION_SINCE = '1.1.0';

function hasSchemaVersionField(version: SchemaVersion): boolean {
  return versionAtLeast(version, SCHEMA_VERSION_SINCE);
}

/** Event form -> avsc value of `version`: schema_version written truthfully, 2.0.0 metadata wrapped. */
export function toAvroValue(event: Record<string, unknown>, version: SchemaVersion): Record<string, unknown> {
  let value = event;
  const stated = event.schema_version;
  if (stated !== version) {
    // Encoding with another version's schema would drop or default fields silently.
    if (stated !== undefined && stated !== null && !sameMinor(stated, version)) {
      throw onexError(
        'ONEX_VALID_107',
        `The event says schema_version ${String(stated)} but is being encoded with schema ${version}; transform it first.`,
      );
    }
    // Left out, the reader would see the field default 1.0.0: write the version the bytes really have.
    if (hasSchemaVersionField(version)) value = { ...event, schema_version: version };
  }
  if (majorOf(version) === 2) {
    const metadata = value.metadata;
    if (metadata !== null && metadata !== undefined) {
      value = value === event ? { ...event } : value;
      value.metadata = { [branchOf(value.event_type, metadata)]: metadata };
    }
  }
  return value;
}

function branchOf(eventType: unknown, metadata: unknown): string {
  if (isPlainObject(metadata) && 'untyped' in metadata) return V2_UNTYPED_BRANCH;
  if (isTypedEventType(eventType)) return V2_METADATA_BRANCHES[eventType];
  throw onexError(
    'ONEX_EVENT_603',
    `${String(eventType)} events have no typed metadata in 2.0.0; write their metadata as { untyped: {...} }.`,
  );
}

function sameMinor(stated: unknown, version: SchemaVersion): boolean {
  return typeof stated === 'string' && stated.split('.', 2).join('.') === version.split('.', 2).join('.');
}

/** avsc value of a 2.0.0 reader -> event form (in place: decoded values are ours). */
export function unwrapV2Metadata(value: Record<string, unknown>): void {
  const wrapped = value.metadata as Record<string, unknown> | null;
  if (wrapped !== null && wrapped !== undefined) {
    for (const key in wrapped) {
      value.metadata = wrapped[key];
      return;
    }
  }
}

/**
 * Encodes an event with the schema of `version` (default: the version the event states). `reserve` leading bytes are
 * left unwritten for the caller (the 5-byte wire-format header), so the body is not copied a second time behind it.
 */
export function encodeEvent(event: object, version?: SchemaVersion, reserve = 0): Buffer {
  const v = version ?? detectRawEventVersion(event).version;
  const schema = knownSchema(v);
  return encodeWith(schema, v, event as Record<string, unknown>, reserve);
}

export function encodeWith(schema: ParsedSchema, version: SchemaVersion, event: Record<string, unknown>, reserve = 0): Buffer {
  const codec = compiledCodec(schema, version);
  if (codec) {
    const bytes = compiledBytes(codec, event, reserve);
    if (bytes) return bytes;
    countAvscFallback('encode', 'gave_up');
  } else {
    countAvscFallback('encode', 'not_compiled');
  }
  // Wrapping the metadata and checking schema_version throw their own precise errors.
  const value = toAvroValue(event, version);
  try {
    return toBytes(schema.type, value, reserve);
  } catch (cause) {
    if (isOnexError(cause) && cause.code !== 'ONEX_EVENT_603') throw cause;
    const where = explainInvalid(schema.type, value);
    throw onexError('ONEX_EVENT_603', `The event does not fit schema ${version}: ${where ?? (cause as Error).message}.`, {
      cause,
      details: { version },
    });
  }
}

const compiled = new WeakMap<ParsedSchema, CompiledCodec | null>();

/** What the compiled codecs of `version` need to know of the event form (see toAvroValue and readWith). */
function codecOptions(version: SchemaVersion): CompileOptions {
  return {
    schemaVersion: hasSchemaVersionField(version) ? version : undefined,
    acceptsSchemaVersion: (stated) => stated === version || stated === undefined || stated === null || sameMinor(stated, version),
    metadataBranch: majorOf(version) === 2 ? branchOf : undefined,
  };
}

/** The compiled codec of a schema read and written as `version` (null: the schema uses types it does not compile). */
export function compiledCodec(schema: ParsedSchema, version: SchemaVersion): CompiledCodec | undefined {
  if (schema === last.schema) return last.codec; // a stream is mostly one version: skip the map
  let codec = compiled.get(schema);
  if (codec === undefined) {
    codec = compileCodec(schema.type, codecOptions(version)) ?? null;
    compiled.set(schema, codec);
  }
  last = { schema, codec: codec ?? undefined };
  return last.codec;
}

/**
 * A compiled reader of bytes of `writer` into events of `readerVersion`, when the writer is an earlier MINOR of it;
 * undefined otherwise (avsc's resolver then reads them). Like readWith, it writes schema_version as the reader's.
 * Compiled anew on each call: the pair's resolution plan (plan.ts) keeps it.
 */
export function compiledResolution(writer: ParsedSchema, reader: ParsedSchema, readerVersion: SchemaVersion): CompiledCodec['read'] | undefined {
  return compileResolution(writer.type, reader.type, codecOptions(readerVersion));
}

let last: { schema: ParsedSchema | undefined; codec: CompiledCodec | undefined } = { schema: undefined, codec: undefined };

// Compiled encodes go into a slab, as Buffer.from(string) does with its pool: each event gets its own slice, right-
// sized, with no zero-fill and no copy. A slab lives as long as any event sliced from it.
const SLAB_BYTES = 128 * 1024;
const SLAB_ROOM = 8 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabAt = 0;

function compiledBytes(codec: CompiledCodec, event: Record<string, unknown>, reserve: number): Buffer | undefined {
  if (slab.length - slabAt < SLAB_ROOM) newSlab(SLAB_BYTES);
  // Held locally: a toJSON in the event may encode another event meanwhile, and that one may start a new slab.
  let target = slab;
  let start = slabAt;
  let end: number;
  try {
    end = codec.write(event, target, start + reserve);
    if (end > target.length) {
      newSlab(Math.max(SLAB_BYTES, 2 * (end - start)));
      target = slab;
      start = 0;
      end = codec.write(event, target, reserve);
    }
  } catch {
    return undefined; // avsc has the final say, and the precise error
  }
  if (target === slab) slabAt = (end + 7) & ~7; // 8-byte aligned, as Node's pool does
  return target.subarray(start, end);
}

function newSlab(bytes: number): void {
  slab = Buffer.allocUnsafeSlow(bytes);
  slabAt = 0;
}

// avsc's toBuffer allocates a zero-filled buffer per call, which costs more than all of the encoding. Encoding into
// one scratch buffer and copying into a pooled allocUnsafe buffer (as Buffer.from(string) does) is ~4x cheaper.
let scratch = Buffer.allocUnsafe(64 * 1024);

function toBytes(type: avro.Type, value: unknown, reserve: number): Buffer {
  let end = type.encode(value, scratch, reserve);
  if (end < 0) {
    // Too small: avsc tells by how much. Grow to fit (rounded to 64 KB) and write again.
    scratch = Buffer.allocUnsafe(Math.ceil((scratch.length - end) / 65536) * 65536);
    end = type.encode(value, scratch, reserve);
  }
  const out = Buffer.allocUnsafe(end);
  scratch.copy(out, reserve, reserve, end);
  return out;
}

/** The first value avsc refuses, as "metadata.input_state must be string, got undefined". */
export function explainInvalid(type: avro.Type, value: unknown): string | undefined {
  let found: string | undefined;
  try {
    type.isValid(value, {
      errorHook: (path: string[], any: unknown, t: avro.Type) => {
        if (found !== undefined) return;
        const shown = any === undefined ? 'nothing' : clip(safeJson(any));
        const expected = t.typeName.startsWith('logical:') ? t.typeName.slice(8) : t.typeName;
        found = `${path.length ? path.join('.') : 'the event'} must be ${expected}, got ${shown}`;
      },
    });
  } catch {
    // isValid runs our logical types, which throw on bad input; the hook has what we need by then.
  }
  return found;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Reads an Avro body with a writer schema into a reader of a known version. `resolver` is the cached avsc resolver
 * for (writer, reader); undefined when both have the same canonical form. With a resolver avsc does the read, which
 * is counted as a fallback: `resolveReason` says why the caller had no compiled resolution to use instead.
 */
export function readWith(
  reader: ParsedSchema,
  readerVersion: SchemaVersion,
  resolver: avro.Resolver | undefined,
  buffer: Buffer,
  resolveReason: AvscFallbackReason = 'not_compiled',
): AnyOnexEvent {
  if (resolver === undefined) {
    // Same schema both sides: the compiled reader (it writes schema_version itself), unless the bytes do not decode.
    const codec = compiledCodec(reader, readerVersion);
    const event = codec?.read(buffer);
    if (event !== undefined) return event as unknown as AnyOnexEvent;
    countAvscFallback('decode', codec ? 'gave_up' : 'not_compiled');
  } else {
    countAvscFallback('resolve', resolveReason);
  }
  let value: Record<string, unknown>;
  try {
    value = reader.type.fromBuffer(buffer, resolver) as Record<string, unknown>;
  } catch (cause) {
    if (isOnexError(cause)) throw cause;
    throw onexError('ONEX_EVENT_603', `The event bytes do not decode with their writer schema: ${(cause as Error).message}.`, {
      cause,
    });
  }
  if (majorOf(readerVersion) === 2) unwrapV2Metadata(value);
  if (hasSchemaVersionField(readerVersion)) value.schema_version = readerVersion;
  return value as unknown as AnyOnexEvent;
}

/** Decodes bytes written with the schema of `version`. */
export function decodeEvent<V extends SchemaVersion>(buffer: Buffer, version: V): OnexEventByVersion[V] {
  return readWith(knownSchema(version), version, undefined, buffer) as OnexEventByVersion[V];
}
