/**
 * The schema versions of the ONEX event. They live here, at the bottom of the dependency chain (event <- schema), so
 * that validation can tell which event types and fields a version has without reaching into src/schema.
 */
import { SCHEMA_VERSIONS, type SchemaVersion } from './generated/schema-tables.js';

/**
 * Oldest to newest, one per avro/onex-event/*.avsc (generated: src/event/generated/). A PATCH version (1.2.3) has no
 * schema of its own: it is read as its MINOR (1.2.0).
 */
export { SCHEMA_VERSIONS, type SchemaVersion };

export const LATEST_VERSION: SchemaVersion = SCHEMA_VERSIONS.at(-1)!;

/** The version an event without schema_version has (docs/protocol.md section 5). */
export const DEFAULT_EVENT_VERSION: SchemaVersion = '1.0.0';

export interface ParsedVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

const SEMVER = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;

/** Parses MAJOR.MINOR.PATCH; undefined when the text is not a plain semantic version. */
// Every event asks for the few version strings there are: parse each once. Bounded, as event fields are input.
const parsedVersions = new Map<string, ParsedVersion | undefined>();

/** Parses MAJOR.MINOR.PATCH; undefined when the text is not a plain semantic version. The result is frozen. */
export function parseVersion(text: string): ParsedVersion | undefined {
  if (parsedVersions.has(text)) return parsedVersions.get(text);
  const m = SEMVER.exec(text);
  const parsed = m ? Object.freeze({ major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) }) : undefined;
  if (parsedVersions.size < 256) parsedVersions.set(text, parsed);
  return parsed;
}

export function isSchemaVersion(value: unknown): value is SchemaVersion {
  return typeof value === 'string' && (SCHEMA_VERSIONS as readonly string[]).includes(value);
}

export function majorOf(version: SchemaVersion): number {
  return Number(version.slice(0, version.indexOf('.')));
}

/** -1, 0 or 1 in semantic-version order. */
export function compareVersions(a: ParsedVersion, b: ParsedVersion): number {
  return Math.sign(a.major - b.major || a.minor - b.minor || a.patch - b.patch);
}
