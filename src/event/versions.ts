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

const NEWEST_MAJOR = Math.max(...SCHEMA_VERSIONS.map((v) => parseVersion(v)!.major));

/** How a stated version is read: as which known version, or why it cannot be. */
export type VersionReading =
  | { readonly version: SchemaVersion; readonly exact: boolean }
  | { readonly unreadable: 'not-semver' | 'newer-major' | 'unknown'; readonly newestMajor: number };

/**
 * The one rule for reading a stated version (an event's schema_version, a writer schema's onex.schema_version):
 * known versions are x.y.0; a PATCH is read as its MINOR, a newer MINOR of a known MAJOR as that MAJOR's newest
 * version (`exact` false: fields it added are unknown here), a newer MAJOR not at all. Callers turn `unreadable`
 * into their own error code (validation: ONEX_VALID_107; schema detection: ONEX_SCHEMA_701 / 704).
 */
export function readVersion(text: string): VersionReading {
  const parsed = parseVersion(text);
  if (!parsed) return { unreadable: 'not-semver', newestMajor: NEWEST_MAJOR };
  if (parsed.major > NEWEST_MAJOR) return { unreadable: 'newer-major', newestMajor: NEWEST_MAJOR };
  let readAs: SchemaVersion | undefined;
  for (const v of SCHEMA_VERSIONS) {
    const known = parseVersion(v)!;
    if (known.major === parsed.major && known.minor <= parsed.minor) readAs = v;
  }
  if (!readAs) return { unreadable: 'unknown', newestMajor: NEWEST_MAJOR };
  return { version: readAs, exact: parseVersion(readAs)!.minor === parsed.minor };
}

/**
 * Whether `version` is `minimum` or newer, in semantic-version order: the one way the code asks "does this version
 * have feature X" (never a string comparison, which would put 1.10.0 before 1.2.0). Both must be MAJOR.MINOR.PATCH.
 */
export function versionAtLeast(version: string, minimum: string): boolean {
  const v = parseVersion(version);
  const m = parseVersion(minimum);
  if (!v || !m) throw new TypeError(`versionAtLeast needs two MAJOR.MINOR.PATCH versions, got ${JSON.stringify(version)} and ${JSON.stringify(minimum)}`);
  return compareVersions(v, m) >= 0;
}
