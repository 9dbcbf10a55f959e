import { onexError } from '../errors/index.js';
import {
  DEFAULT_EVENT_VERSION,
  isPlainObject,
  readVersion,
  SCHEMA_VERSIONS,
  type SchemaVersion,
} from '../event/index.js';
import { versionOfFingerprint } from './known-schemas.js';
import { parseSchema, VERSION_ATTRIBUTE, type AvroSchemaInput, type ParsedSchema } from './parse.js';

/**
 * Version detection.
 *
 * From a writer schema, two facts are read, never a reader-side default:
 *  1. the fingerprint of its Parsing Canonical Form, looked up among the schemas we ship. A match is exact and
 *     cannot be faked or lost: it ignores docs and attributes, so it survives registries and tools that normalise
 *     schemas or drop custom attributes, and it describes the structure the bytes were written with.
 *  2. the schema-level attribute "onex.version" (every .avsc in avro/ has it). It is what tells apart the schemas
 *     we do not ship: a newer MINOR of a major we know (readable: Avro resolution into our newest MINOR of that
 *     major) from a newer MAJOR (refused with ONEX_SCHEMA_701, never mis-read).
 * The fingerprint wins when both are present and disagree (the structure decides how the bytes decode; an
 * attribute can be carried along by a hand-edited schema). A schema with neither is refused with ONEX_SCHEMA_704.
 *
 * From a raw JSON event: its schema_version; none means 1.0.0 (the protocol's rule).
 */

export interface DetectedVersion {
  /** The known version the event is read as: itself, its MINOR for a PATCH, our newest MINOR for a newer MINOR. */
  readonly version: SchemaVersion;
  /** The version as the writer stated it (1.2.3, 1.4.0, ...). */
  readonly declared: string;
  /** True when the declared version has exactly the schema of `version` (same MINOR). */
  readonly exact: boolean;
  readonly by: 'fingerprint' | 'attribute' | 'field' | 'absent';
}

export type DetectInput =
  | object
  | { schema: AvroSchemaInput }
  | { schemaId: number; lookup: (id: number) => AvroSchemaInput | undefined };

/** Maps a stated version to the known version it is read as (readVersion); 701 for a newer MAJOR, 704 for anything else unknown. */
export function resolveStatedVersion(text: string, where: string): { version: SchemaVersion; exact: boolean } {
  const reading = readVersion(text);
  if (!('unreadable' in reading)) return reading;
  if (reading.unreadable === 'not-semver') throw onexError('ONEX_SCHEMA_704', `The ${where} "${clip(text)}" is not a MAJOR.MINOR.PATCH version.`);
  if (reading.unreadable === 'newer-major') {
    throw onexError(
      'ONEX_SCHEMA_701',
      `The event was written with schema ${text}, a newer major than this reader knows (up to ${reading.newestMajor}.x); upgrade the consumer.`,
      { details: { declared: text, newestKnownMajor: reading.newestMajor } },
    );
  }
  throw onexError('ONEX_SCHEMA_704', `Schema version ${text} is not one this pipeline knows (${SCHEMA_VERSIONS.join(', ')}).`, {
    details: { declared: text },
  });
}

/** Version of a writer schema, with how it was found. */
export function detectSchemaVersion(schema: AvroSchemaInput | ParsedSchema): DetectedVersion {
  const p = isParsedSchema(schema) ? schema : parseSchema(schema);
  const byPrint = versionOfFingerprint(p.fingerprint);
  if (byPrint) return { version: byPrint, declared: byPrint, exact: true, by: 'fingerprint' };
  if (p.declaredVersion !== undefined) {
    const { version, exact } = resolveStatedVersion(p.declaredVersion, `${VERSION_ATTRIBUTE} attribute`);
    return { version, declared: p.declaredVersion, exact, by: 'attribute' };
  }
  throw onexError(
    'ONEX_SCHEMA_704',
    `The writer schema is none of the ONEX event schemas and has no "${VERSION_ATTRIBUTE}" attribute, so its version is unknown.`,
    { details: { fingerprint: p.fingerprint } },
  );
}

/** Version of a raw JSON event (event form); no schema_version means 1.0.0. */
export function detectRawEventVersion(event: object): DetectedVersion {
  const stated = (event as { schema_version?: unknown }).schema_version;
  if (stated === undefined || stated === null) {
    return { version: DEFAULT_EVENT_VERSION, declared: DEFAULT_EVENT_VERSION, exact: true, by: 'absent' };
  }
  if (typeof stated !== 'string') {
    throw onexError('ONEX_SCHEMA_704', `The event's schema_version must be a version string, not ${typeof stated}.`);
  }
  return { ...resolveStatedVersion(stated, 'schema_version'), declared: stated, by: 'field' };
}

/**
 * The schema version of an event: from its writer schema ({ schema } or { schemaId, lookup }) or, for a raw JSON
 * event, from its schema_version. The result is the known version the event is read as (see DetectedVersion).
 */
export function detectEventVersion(input: DetectInput): SchemaVersion {
  return detectVersion(input).version;
}

export function detectVersion(input: DetectInput): DetectedVersion {
  if (!isPlainObject(input) && !(typeof input === 'object' && input !== null)) {
    throw onexError('ONEX_SCHEMA_704', 'Cannot detect the version of something that is neither an event nor a schema.');
  }
  const o = input as Record<string, unknown>;
  if ('schemaId' in o && typeof o.lookup === 'function') {
    const id = o.schemaId as number;
    const schema = (o.lookup as (id: number) => AvroSchemaInput | undefined)(id);
    if (schema === undefined) throw onexError('ONEX_EVENT_605', `Schema id ${id} is not known to the registry.`, { details: { schemaId: id } });
    return detectSchemaVersion(schema);
  }
  if ('schema' in o && !('event_type' in o)) return detectSchemaVersion(o.schema as AvroSchemaInput);
  return detectRawEventVersion(input);
}

function isParsedSchema(value: unknown): value is ParsedSchema {
  return typeof value === 'object' && value !== null && 'fingerprint' in value && 'node' in value && 'type' in value;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
