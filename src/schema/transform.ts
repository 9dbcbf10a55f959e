import avro from 'avsc';
import { isOnexError, onexError } from '../errors/index.js';
import { isPlainObject, isSchemaVersion, majorOf, SCHEMA_VERSIONS, type AnyOnexEvent, type OnexEventByVersion, type SchemaVersion } from '../event/index.js';
import { TransformChain, defaultSteps } from './chain.js';
import { detectRawEventVersion, detectSchemaVersion } from './detect.js';
import { knownSchema, versionOfFingerprint } from './known-schemas.js';
import { parseSchema, type AvroSchemaInput, type ParsedSchema } from './parse.js';
import { resolutionPlan } from './plan.js';

/** The chain of the shipped versions, validated at load: a broken chain stops the process that imports it. */
export const DEFAULT_CHAIN: TransformChain = TransformChain.build(defaultSteps());

/**
 * Transforms an event (event form, e.g. a parsed JSON event) to another schema version, step by step through the
 * chain; its version is its schema_version (none: 1.0.0). An event of an unknown newer major is refused with
 * ONEX_SCHEMA_701; an event that does not fit its own version fails with ONEX_SCHEMA_702.
 */
export function transformEvent<V extends SchemaVersion>(
  event: object,
  targetVersion: V,
  chain: TransformChain = DEFAULT_CHAIN,
): OnexEventByVersion[V] {
  if (!isSchemaVersion(targetVersion)) {
    throw onexError('ONEX_SCHEMA_704', `Target version ${String(targetVersion)} is not a schema version this pipeline knows.`);
  }
  if (!isPlainObject(event)) throw onexError('ONEX_SCHEMA_702', 'Only an event object can be transformed.');
  const detected = detectRawEventVersion(event);
  const from = detected.version;
  if (from === targetVersion && detected.exact) return event as unknown as OnexEventByVersion[V];
  let start = event as unknown as AnyOnexEvent;
  if (!detected.exact && 'schema_version' in event) {
    // A PATCH or a newer MINOR: read it as the known version it resolves into (unknown fields are dropped).
    start = { ...event, schema_version: from } as AnyOnexEvent;
  }
  try {
    const out = from === targetVersion ? normalise(start, from) : chain.compile(from, targetVersion).run(start);
    return out as OnexEventByVersion[V];
  } catch (cause) {
    if (isOnexError(cause) && cause.component === 'SCHEMA') throw cause;
    throw onexError(
      'ONEX_SCHEMA_702',
      `Event ${String((event as { event_id?: unknown }).event_id)} could not be transformed from ${from} to ${targetVersion}: ${(cause as Error).message}`,
      { cause, details: { from, to: targetVersion } },
    );
  }
}

/**
 * An event of a newer MINOR (or a PATCH) read as our version of that major: Avro resolution of the version's schema
 * with itself, in memory, by the same plan as the chain's MINOR runs (fields we do not know dropped, defaults filled
 * in, every value checked against the schema).
 */
function normalise(event: AnyOnexEvent, version: SchemaVersion): AnyOnexEvent {
  const schema = knownSchema(version);
  return resolutionPlan(schema, version, schema, version).readValue(event);
}

/** A writer schema: a known version, a schema (text or JSON), or an avsc Type. */
export type WriterSchema = SchemaVersion | AvroSchemaInput | avro.Type;

export type DecodeFunction<V extends SchemaVersion = SchemaVersion> = (buffer: Buffer) => OnexEventByVersion[V];

const fromTypes = new WeakMap<avro.Type, ParsedSchema>();
const decoders = new Map<string, DecodeFunction<SchemaVersion>>();
const DECODER_LIMIT = 1000;

function writerSchema(writer: WriterSchema): ParsedSchema {
  if (typeof writer === 'string' && isSchemaVersion(writer)) return knownSchema(writer);
  if (avro.Type.isType(writer)) {
    const type = writer as avro.Type;
    const shipped = SCHEMA_VERSIONS.find((v) => knownSchema(v).type === type);
    if (shipped) return knownSchema(shipped);
    let p = fromTypes.get(type);
    if (!p) {
      p = parseSchema(type.schema({ exportAttrs: true }) as object);
      fromTypes.set(type, p);
    }
    return p;
  }
  return parseSchema(writer as AvroSchemaInput);
}

/**
 * A decoder for bytes written with `writer` that returns events of `targetVersion`: built once per (writer,
 * target) and cached. The bytes are read into the version where the route to the target leaves the writer's major
 * (the target itself within a major) by the pair's resolution plan (plan.ts), then the chain transforms them.
 */
export function createDecoder<V extends SchemaVersion>(writer: WriterSchema, targetVersion: V, chain: TransformChain = DEFAULT_CHAIN): DecodeFunction<V> {
  if (!isSchemaVersion(targetVersion)) {
    throw onexError('ONEX_SCHEMA_704', `Target version ${String(targetVersion)} is not a schema version this pipeline knows.`);
  }
  const ws = writerSchema(writer);
  // A shipped schema is known by its fingerprint whatever its attributes say; others also by their onex.version.
  const shipped = versionOfFingerprint(ws.fingerprint);
  const key = `${shipped ?? `${ws.fingerprint}|${ws.declaredVersion ?? ''}`}>${targetVersion}`;
  const useCache = chain === DEFAULT_CHAIN;
  const cached = useCache ? decoders.get(key) : undefined;
  if (cached) return cached as DecodeFunction<V>;

  const detected = detectSchemaVersion(ws);
  const readAs = majorOf(detected.version) === majorOf(targetVersion) ? targetVersion : chain.exitVersion(detected.version, targetVersion);
  const plan = resolutionPlan(ws, detected.version, knownSchema(readAs), readAs);
  const route = chain.compile(readAs, targetVersion);
  const read = plan.readBytes;
  const decode = (route.steps.length === 0 ? read : (buffer: Buffer) => route.run(read(buffer))) as DecodeFunction<V>;
  if (useCache) {
    if (decoders.size >= DECODER_LIMIT) decoders.delete(decoders.keys().next().value!);
    decoders.set(key, decode as DecodeFunction<SchemaVersion>);
  }
  return decode;
}

/** Decodes bytes with their writer schema and returns the event in `targetVersion` (see createDecoder). */
export function decodeAs<V extends SchemaVersion>(writer: WriterSchema, buffer: Buffer, targetVersion: V): OnexEventByVersion[V] {
  return createDecoder(writer, targetVersion)(buffer);
}
