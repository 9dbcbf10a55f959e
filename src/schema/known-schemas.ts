import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type avro from 'avsc';
import { onexError } from '../errors/index.js';
import { isSchemaVersion, SCHEMA_VERSIONS, type SchemaVersion } from '../event/index.js';
import { parseSchema, type ParsedSchema } from './parse.js';

/**
 * The schemas this pipeline ships: avro/onex-event/v<version>.avsc, the source of truth for every version. Found
 * by walking up from this file, so it works from src/ under tsx and from dist/src/ after a build (the package
 * ships avro/ at its root).
 */
let root: string | undefined;

export function avroDirectory(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'avro', 'onex-event');
    if (existsSync(candidate)) return (root = candidate);
    dir = dirname(dir);
  }
  throw onexError('ONEX_VALID_100', 'The avro/onex-event directory with the ONEX event schemas was not found.');
}

export function schemaFile(version: SchemaVersion): string {
  return join(avroDirectory(), `v${version}.avsc`);
}

const texts = new Map<SchemaVersion, string>();
const parsed = new Map<SchemaVersion, ParsedSchema>();

function requireVersion(version: unknown): asserts version is SchemaVersion {
  if (!isSchemaVersion(version)) {
    throw onexError('ONEX_SCHEMA_704', `Schema version ${String(version)} is not one of ${SCHEMA_VERSIONS.join(', ')}.`);
  }
}

/** The .avsc text of a version, as shipped. */
export function schemaText(version: SchemaVersion): string {
  requireVersion(version);
  let text = texts.get(version);
  if (text === undefined) {
    const file = schemaFile(version);
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw onexError('ONEX_VALID_100', `The schema of version ${version} could not be read from ${file}.`, { cause });
    }
    texts.set(version, text);
  }
  return text;
}

/** The parsed schema of a version; the same object on every call (deep-frozen: share it, do not change it). */
export function knownSchema(version: SchemaVersion): ParsedSchema {
  requireVersion(version);
  let p = parsed.get(version);
  if (!p) {
    p = parseSchema(deepFreeze(JSON.parse(schemaText(version)) as object));
    parsed.set(version, p);
  }
  return p;
}

/** The parsed .avsc of a version (deep-frozen JSON). */
export function loadSchema(version: SchemaVersion): object {
  return knownSchema(version).json as object;
}

/** The avsc Type of a version, cached. Its values are the event form, except 2.0.0 metadata (see codec.ts). */
export function avroType(version: SchemaVersion): avro.Type {
  return knownSchema(version).type;
}

let byFingerprint: Map<string, SchemaVersion> | undefined;

/** The shipped version whose Parsing Canonical Form has this fingerprint. */
export function versionOfFingerprint(fingerprint: string): SchemaVersion | undefined {
  byFingerprint ??= new Map(SCHEMA_VERSIONS.map((v) => [knownSchema(v).fingerprint, v]));
  return byFingerprint.get(fingerprint);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
