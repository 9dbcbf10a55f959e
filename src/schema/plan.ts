import type avro from 'avsc';
import { onexError } from '../errors/index.js';
import type { AnyOnexEvent, SchemaVersion } from '../event/index.js';
import { compiledResolution, encodeWith, readWith } from './codec.js';
import { checkReaderWriter } from './compatibility.js';
import { countAvscFallback } from './engine-stats.js';
import { versionOfFingerprint } from './known-schemas.js';
import type { ParsedSchema } from './parse.js';
import { compileValueResolver, type ValueResolver } from './value-resolver.js';

/**
 * How data of one writer schema is read as one reader schema, worked out once per (writer, reader) pair and shared by
 * both paths that resolve: bytes (a record's Avro body, createDecoder) and values (an event in memory, the MINOR runs
 * of the transform chain). Each path uses the compiled code when there is one (compile.ts for bytes,
 * value-resolver.ts for values) and avsc's resolver otherwise; every avsc read is counted (engine-stats.ts), so a
 * silent slowdown shows as a rising onex_schema_avsc_fallbacks_total.
 */
export interface ResolutionPlan {
  readonly writer: ParsedSchema;
  readonly writerVersion: SchemaVersion;
  readonly reader: ParsedSchema;
  readonly readerVersion: SchemaVersion;
  /** avsc's resolver for the pair; undefined when both have the same canonical form (nothing to resolve). */
  readonly resolver: avro.Resolver | undefined;
  /** An Avro body written with the writer schema, read as an event of the reader's version. */
  readBytes(buffer: Buffer): AnyOnexEvent;
  /** An event of the writer's version in memory, as the reader's version would read it. */
  readValue(event: AnyOnexEvent): AnyOnexEvent;
}

const plans = new Map<string, ResolutionPlan>();
/** Writer schemas come from the registry, so the pairs are bounded: the oldest plan goes past this many. */
const PLAN_LIMIT = 1000;

/**
 * The plan for (writer, reader), built on first use and cached. Throws ONEX_SCHEMA_701, with the reasons of the
 * compatibility check, when the reader cannot read the writer's data.
 */
export function resolutionPlan(writer: ParsedSchema, writerVersion: SchemaVersion, reader: ParsedSchema, readerVersion: SchemaVersion): ResolutionPlan {
  const key = `${writer.fingerprint}|${writerVersion}>${reader.fingerprint}|${readerVersion}`;
  let plan = plans.get(key);
  if (!plan) {
    plan = buildPlan(writer, writerVersion, reader, readerVersion);
    if (plans.size >= PLAN_LIMIT) plans.delete(plans.keys().next().value!);
    plans.set(key, plan);
  }
  return plan;
}

function buildPlan(writer: ParsedSchema, writerVersion: SchemaVersion, reader: ParsedSchema, readerVersion: SchemaVersion): ResolutionPlan {
  let resolver: avro.Resolver | undefined;
  if (reader.fingerprint !== writer.fingerprint) {
    try {
      resolver = reader.type.createResolver(writer.type, { ignoreNamespaces: true });
    } catch (cause) {
      const reasons = checkReaderWriter(reader.json as object, writer.json as object).reasons;
      const first = reasons[0];
      const declared = versionOfFingerprint(writer.fingerprint) ?? writer.declaredVersion ?? writerVersion; // as detectSchemaVersion says it
      throw onexError(
        'ONEX_SCHEMA_701',
        `Data written with schema ${declared} cannot be read as ${readerVersion}${first ? `: ${first.path}: ${first.message}` : ''}.`,
        { cause, details: { writer: declared, reader: readerVersion, reasons } },
      );
    }
  }
  // Bytes: an earlier MINOR writer (1.0.0 bytes read as 1.3.0) has a compiled reader; avsc reads what it gives up on.
  const compiled = resolver ? compiledResolution(writer, reader, readerVersion) : undefined;
  const readBytes = compiled
    ? (buffer: Buffer) => (compiled(buffer) as AnyOnexEvent | undefined) ?? readWith(reader, readerVersion, resolver, buffer, 'gave_up')
    : (buffer: Buffer) => readWith(reader, readerVersion, resolver, buffer);
  // Values: compiled when first asked for (only the chain's MINOR runs read values), then kept.
  let readValue: ((event: AnyOnexEvent) => AnyOnexEvent) | undefined;
  return {
    writer,
    writerVersion,
    reader,
    readerVersion,
    resolver,
    readBytes,
    readValue: (event) => (readValue ??= valueReader(writer, writerVersion, reader, readerVersion, resolver))(event),
  };
}

function valueReader(
  writer: ParsedSchema,
  writerVersion: SchemaVersion,
  reader: ParsedSchema,
  readerVersion: SchemaVersion,
  resolver: avro.Resolver | undefined,
): (event: AnyOnexEvent) => AnyOnexEvent {
  const inMemory: ValueResolver | undefined = compileValueResolver(reader, writer);
  if (inMemory) {
    const stamp = reader.node.kind === 'record' && reader.node.fields.some((f) => f.name === 'schema_version');
    return (event) => {
      const out = inMemory(event) as Record<string, unknown>;
      if (stamp) out.schema_version = readerVersion;
      return out as unknown as AnyOnexEvent;
    };
  }
  // The event is encoded with the writer's schema and read with the reader's.
  return (event) => {
    countAvscFallback('value_resolve', 'not_compiled');
    const bytes = encodeWith(writer, writerVersion, event as unknown as Record<string, unknown>);
    return readWith(reader, readerVersion, resolver, bytes);
  };
}
