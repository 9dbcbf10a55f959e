import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { isOnexError } from '../errors/index.js';
import {
  EVENT_TYPES,
  METADATA_RULES,
  SCHEMA_VERSIONS,
  UNKNOWN_EVENT_TYPE,
  type MetadataFieldKind,
  type SchemaVersion,
  type TypedEventType,
} from '../event/index.js';
import { DEFAULT_CHAIN } from './transform.js';
import { avroDirectory } from './known-schemas.js';
import { checkCompatibilityMatrix, type MatrixReport, type SchemaSet } from './matrix.js';
import { parseSchema, VERSION_ATTRIBUTE } from './parse.js';
import { V2_METADATA_BRANCHES, V2_UNTYPED_BRANCH } from './v2-bridge.js';

/**
 * Everything `onex schema check` verifies about avro/: every .avsc is a valid schema; each version has its file,
 * names itself in onex.version and differs from the others; the event-type enums and the 2.0.0 typed metadata
 * records agree with src/event (the code and the schemas cannot drift apart); the computed compatibility matrix is
 * the declared one; the transform chain is valid.
 */
export interface AuditCheck {
  readonly name: string;
  readonly problems: readonly string[];
}

export interface SchemaAudit {
  readonly ok: boolean;
  readonly checks: readonly AuditCheck[];
  readonly matrix: MatrixReport | undefined;
}

/** Audits the avro/ directory (default: the shipped one; onex-event/ below it holds the versions). */
export function auditSchemas(root: string = dirname(avroDirectory())): SchemaAudit {
  const checks: AuditCheck[] = [];
  const schemas = new Map<string, unknown>();

  const fileProblems: string[] = [];
  for (const file of listAvsc(root)) {
    try {
      const text = readFileSync(file, 'utf8');
      schemas.set(relative(root, file), parseSchema(text).json);
    } catch (err) {
      fileProblems.push(`${relative(root, file)}: ${isOnexError(err) ? `${err.code}: ${err.message}` : String(err)}`);
    }
  }
  if (schemas.size === 0 && fileProblems.length === 0) fileProblems.push(`no .avsc file under ${root}`);
  checks.push({ name: 'every .avsc is a valid Avro schema', problems: fileProblems });

  const versionProblems: string[] = [];
  const byVersion = new Map<SchemaVersion, Record<string, unknown>>();
  const prints = new Map<string, SchemaVersion>();
  for (const version of SCHEMA_VERSIONS) {
    const json = schemas.get(join('onex-event', `v${version}.avsc`)) as Record<string, unknown> | undefined;
    if (!json) {
      versionProblems.push(`onex-event/v${version}.avsc is missing or invalid`);
      continue;
    }
    byVersion.set(version, json);
    if (json[VERSION_ATTRIBUTE] !== version) {
      versionProblems.push(`onex-event/v${version}.avsc says ${VERSION_ATTRIBUTE} ${JSON.stringify(json[VERSION_ATTRIBUTE])}, not "${version}"`);
    }
    const print = parseSchema(json).fingerprint;
    const twin = prints.get(print);
    if (twin) versionProblems.push(`${version} has the same canonical form as ${twin}, so the two cannot be told apart`);
    prints.set(print, version);
  }
  checks.push({ name: 'each version has its schema, named by onex.version', problems: versionProblems });

  const typeProblems: string[] = [];
  for (const [version, json] of byVersion) {
    const field = fieldOf(json, 'event_type');
    const enumType = field?.type as Record<string, unknown> | undefined;
    const expected = [UNKNOWN_EVENT_TYPE, ...EVENT_TYPES[version]];
    if (!enumType || enumType.type !== 'enum') typeProblems.push(`${version}: event_type is not an enum`);
    else {
      const symbols = enumType.symbols as string[];
      if (JSON.stringify(symbols) !== JSON.stringify(expected)) {
        typeProblems.push(`${version}: event_type symbols are [${symbols.join(', ')}], src/event says [${expected.join(', ')}]`);
      }
      if (enumType.default !== UNKNOWN_EVENT_TYPE) typeProblems.push(`${version}: event_type has no default symbol ${UNKNOWN_EVENT_TYPE}`);
    }
  }
  checks.push({ name: 'event types agree with src/event', problems: typeProblems });

  const v2 = byVersion.get('2.0.0');
  checks.push({ name: '2.0.0 typed metadata agrees with the metadata standards', problems: v2 ? typedMetadataProblems(v2) : ['2.0.0 is missing'] });

  let matrix: MatrixReport | undefined;
  if (byVersion.size === SCHEMA_VERSIONS.length) {
    matrix = checkCompatibilityMatrix(Object.fromEntries(byVersion) as unknown as SchemaSet);
    checks.push({ name: 'the compatibility matrix is the declared one', problems: matrix.problems });
  } else {
    checks.push({ name: 'the compatibility matrix is the declared one', problems: ['not computed: a version schema is missing'] });
  }

  const chainProblems = DEFAULT_CHAIN.versions.join() === SCHEMA_VERSIONS.join() ? [] : ['the transform chain does not cover every version'];
  checks.push({ name: 'the transform chain joins every version both ways', problems: chainProblems });

  return { ok: checks.every((c) => c.problems.length === 0), checks, matrix };
}

function listAvsc(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listAvsc(path);
    return name.endsWith('.avsc') ? [path] : [];
  });
}

function fieldOf(record: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  return (record.fields as Record<string, unknown>[] | undefined)?.find((f) => f.name === name);
}

const AVRO_OF_KIND: Record<MetadataFieldKind, string> = {
  object: '{"type":"string","logicalType":"onex-json"}',
  string: '"string"',
  number: '"double"',
  int: '"int"',
  long: '"long"',
  boolean: '"boolean"',
  'string[]': '{"type":"array","items":"string"}',
};

function typedMetadataProblems(v2: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const union = fieldOf(v2, 'metadata')?.type;
  if (!Array.isArray(union)) return ['2.0.0 metadata is not a union of records'];
  const records = new Map(
    union.filter((b): b is Record<string, unknown> => typeof b === 'object' && b !== null).map((r) => [`onex.event.${String(r.name)}`, r]),
  );
  if (!records.has(V2_UNTYPED_BRANCH)) problems.push(`the union has no ${V2_UNTYPED_BRANCH} branch`);
  for (const [eventType, rule] of Object.entries(METADATA_RULES) as [TypedEventType, (typeof METADATA_RULES)[TypedEventType]][]) {
    const record = records.get(V2_METADATA_BRANCHES[eventType]);
    if (!record) {
      problems.push(`${eventType}: no ${V2_METADATA_BRANCHES[eventType]} branch`);
      continue;
    }
    const fields = new Map((record.fields as Record<string, unknown>[]).map((f) => [String(f.name), f]));
    const expected = new Set(['extra', ...Object.keys(rule.required), ...Object.keys(rule.optional)]);
    for (const name of fields.keys()) if (!expected.has(name)) problems.push(`${eventType}: field ${name} is not in the standard`);
    for (const [name, f] of Object.entries(rule.required)) {
      const field = fields.get(name);
      if (!field) problems.push(`${eventType}: required field ${name} is missing`);
      else if (JSON.stringify(field.type) !== AVRO_OF_KIND[f.kind]) problems.push(`${eventType}: ${name} should be ${AVRO_OF_KIND[f.kind]}`);
    }
    for (const [name, f] of Object.entries(rule.optional)) {
      const field = fields.get(name);
      const want = `["null",${AVRO_OF_KIND[f.kind]}]`;
      if (!field) problems.push(`${eventType}: optional field ${name} is missing`);
      else if (JSON.stringify(field.type) !== want || field.default !== null) problems.push(`${eventType}: ${name} should be ${want} with default null`);
    }
  }
  return problems;
}
