import type avro from 'avsc';
import { onexError } from '../errors/index.js';
import { schemaJson, schemaType } from '../schema/index.js';

/**
 * Avro for the registry: is a schema text valid Avro, and what is its canonical form.
 *
 * The canonical form is what the registry stores, returns and compares. It is NOT Avro's Parsing Canonical Form:
 * that form drops defaults, docs, aliases and custom properties, so two schemas that differ only in a field default
 * would compare equal and the new default would never get a version. Like Confluent's server, we keep everything
 * that can matter and only remove what cannot: whitespace, key order, `{"type": "int"}` spelled long, namespaces
 * written in different but equivalent ways (every name is written fully qualified), and an `order` of ascending.
 */

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

export interface ParsedAvro {
  /** The canonical JSON text (minified, deterministic key order, full names). */
  canonical: string;
  /** The avsc type, ready to encode, decode and build resolvers. */
  type: avro.Type;
}

/** A schema this one refers to by name (a Confluent schema reference), already resolved to its text. */
export interface ResolvedReference {
  name: string;
  schema: string;
}

/**
 * Validates `text` as an Avro schema (with the named types of `references` in scope) and returns its canonical form.
 * Parsing is the schema engine's (src/schema parse.ts), without the ONEX logical types: the registry stores and
 * serves plain Avro. Not JSON is ONEX_VALID_101, not Avro ONEX_SCHEMA_700, each with a one-line reason.
 */
export function parseAvro(text: string, references: ResolvedReference[] = []): ParsedAvro {
  if (typeof text !== 'string') throw onexError('ONEX_VALID_101', 'The schema must be JSON text.');
  const json = schemaJson(text);
  const registry: Record<string, avro.Type> = {};
  for (const ref of references) {
    schemaType(schemaJson(ref.schema), { registry, eventForm: false, what: `Schema reference ${ref.name}` });
  }
  const type = schemaType(json, { registry, eventForm: false });
  // avsc checks structure, names and defaults; canonicalising also rejects shapes avsc is lenient about.
  const canonical = JSON.stringify(canonicalise(json, ''));
  return { canonical, type };
}

/**
 * Canonical JSON text of a schema already accepted by some registry, without resolving its references (the log may
 * hold schemas written by Confluent's server, in its own formatting). Falls back to the text itself if it is not JSON.
 */
export function canonicalText(text: string): string {
  try {
    return JSON.stringify(canonicalise(JSON.parse(text), ''));
  } catch {
    return text;
  }
}

function fullName(name: string, namespace: string): string {
  if (name.includes('.')) return name;
  return namespace ? `${namespace}.${name}` : name;
}

function namespaceOf(full: string): string {
  const i = full.lastIndexOf('.');
  return i < 0 ? '' : full.slice(0, i);
}

function customProps(obj: Record<string, unknown>, known: ReadonlySet<string>): [string, unknown][] {
  return Object.keys(obj)
    .filter((k) => !known.has(k))
    .sort()
    .map((k) => [k, sortKeysDeep(obj[k])]);
}

/** Custom property values are arbitrary JSON: sort their object keys too so that key order never matters. */
function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeysDeep((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

const RECORD_KEYS = new Set(['type', 'name', 'namespace', 'doc', 'fields', 'aliases']);
const FIELD_KEYS = new Set(['name', 'type', 'doc', 'default', 'order', 'aliases']);
const ENUM_KEYS = new Set(['type', 'name', 'namespace', 'doc', 'symbols', 'default', 'aliases']);
const FIXED_KEYS = new Set(['type', 'name', 'namespace', 'doc', 'size', 'aliases']);
const ARRAY_KEYS = new Set(['type', 'items']);
const MAP_KEYS = new Set(['type', 'values']);
const TYPE_ONLY = new Set(['type']);

function canonicalise(schema: unknown, namespace: string): unknown {
  if (typeof schema === 'string') {
    if (PRIMITIVES.has(schema)) return schema;
    return fullName(schema, namespace);
  }
  if (Array.isArray(schema)) return schema.map((branch) => canonicalise(branch, namespace));
  if (schema === null || typeof schema !== 'object') throw onexError('ONEX_SCHEMA_700', 'The schema is not a valid Avro schema: not an Avro type.');
  const obj = schema as Record<string, unknown>;
  const type = obj.type;
  if (typeof type !== 'string') {
    // {"type": {...}} or {"type": [...]}: the inner type is the schema.
    return canonicalise(type, namespace);
  }
  if (PRIMITIVES.has(type)) {
    const props = customProps(obj, TYPE_ONLY);
    if (props.length === 0) return type;
    return Object.fromEntries([['type', type], ...props]);
  }
  if (type === 'array') {
    return Object.fromEntries([
      ['type', 'array'],
      ['items', canonicalise(obj.items, namespace)],
      ...customProps(obj, ARRAY_KEYS),
    ]);
  }
  if (type === 'map') {
    return Object.fromEntries([
      ['type', 'map'],
      ['values', canonicalise(obj.values, namespace)],
      ...customProps(obj, MAP_KEYS),
    ]);
  }
  if (!NAMED.has(type)) {
    // A reference to a named type written as {"type": "com.acme.Thing"}.
    const props = customProps(obj, TYPE_ONLY);
    const ref = fullName(type, namespace);
    return props.length === 0 ? ref : Object.fromEntries([['type', ref], ...props]);
  }
  const explicitNs = typeof obj.namespace === 'string' ? obj.namespace : undefined;
  const name = String(obj.name);
  const full = name.includes('.') ? name : fullName(name, explicitNs ?? namespace);
  const innerNs = namespaceOf(full);
  const aliases = Array.isArray(obj.aliases) ? obj.aliases.map((a) => fullName(String(a), innerNs)) : undefined;
  const out: [string, unknown][] = [
    ['type', type],
    ['name', full],
  ];
  if (obj.doc !== undefined) out.push(['doc', obj.doc]);
  if (type === 'record' || type === 'error') {
    const fields = Array.isArray(obj.fields) ? obj.fields : [];
    out.push([
      'fields',
      fields.map((f: Record<string, unknown>) => {
        const field: [string, unknown][] = [
          ['name', f.name],
          ['type', canonicalise(f.type, innerNs)],
        ];
        if (f.doc !== undefined) field.push(['doc', f.doc]);
        if (f.default !== undefined) field.push(['default', f.default]);
        if (f.order !== undefined && f.order !== 'ascending') field.push(['order', f.order]);
        if (Array.isArray(f.aliases) && f.aliases.length > 0) field.push(['aliases', f.aliases]);
        field.push(...customProps(f, FIELD_KEYS));
        return Object.fromEntries(field);
      }),
    ]);
    if (aliases && aliases.length > 0) out.push(['aliases', aliases]);
    out.push(...customProps(obj, RECORD_KEYS));
  } else if (type === 'enum') {
    out.push(['symbols', obj.symbols]);
    if (obj.default !== undefined) out.push(['default', obj.default]);
    if (aliases && aliases.length > 0) out.push(['aliases', aliases]);
    out.push(...customProps(obj, ENUM_KEYS));
  } else {
    out.push(['size', obj.size]);
    if (aliases && aliases.length > 0) out.push(['aliases', aliases]);
    out.push(...customProps(obj, FIXED_KEYS));
  }
  return Object.fromEntries(out);
}
