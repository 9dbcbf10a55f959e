import avro from 'avsc';
import { onexError } from '../errors/index.js';
import { LOGICAL_TYPES } from './logical-types.js';
import { toSchemaNode, type SchemaNode } from './schema-node.js';

/** A schema as JSON text or as parsed JSON. */
export type AvroSchemaInput = string | object;

/** The schema-level attribute that names an ONEX event schema's version (see detect.ts for how it is used). */
export const VERSION_ATTRIBUTE = 'onex.version';

export interface ParsedSchema {
  readonly json: unknown;
  /** avsc type with the ONEX logical types: its values are the event form. */
  readonly type: avro.Type;
  /** The schema as the resolution rules see it. */
  readonly node: SchemaNode;
  /** SHA-256 of the Parsing Canonical Form, hex: equal for schemas that differ only in docs, defaults, attributes. */
  readonly fingerprint: string;
  /** The onex.version attribute, when the schema has one. */
  readonly declaredVersion: string | undefined;
}

// Schemas come from avro/, from a registry, from the command line: a few dozen distinct ones in a process. The
// cap only guards against a caller that feeds generated schemas forever.
const CACHE_LIMIT = 500;
const byText = new Map<string, ParsedSchema>();
const byObject = new WeakMap<object, ParsedSchema>();

/**
 * Schema text as JSON: ONEX_VALID_101 when it is not JSON (or empty). With `bareNames`, a bare type name (string,
 * com.example.Thing) is schema text too, as the Avro specification has it; JSON.parse would refuse it, or read null
 * and true as JSON values. The registry does not take them: Confluent's registry wants JSON.
 */
export function schemaJson(text: string, options: { bareNames?: boolean } = {}): unknown {
  const trimmed = text.trim();
  if (trimmed === '') throw onexError('ONEX_VALID_101', 'The schema is empty.');
  if (options.bareNames && /^[A-Za-z_][A-Za-z0-9_.]*$/.test(trimmed)) return trimmed;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw onexError('ONEX_VALID_101', `The schema is not valid JSON: ${(cause as Error).message}.`, { cause });
  }
}

export interface SchemaTypeOptions {
  /** Named types already in scope (a registry schema's references), filled in with this schema's own. */
  readonly registry?: Record<string, avro.Type>;
  /** With the ONEX logical types, so that values are the event form (default); off for the registry's plain Avro. */
  readonly eventForm?: boolean;
  /** What the schema is, for the error: "The schema" unless told. */
  readonly what?: string;
}

/**
 * avsc's type of a schema's JSON. Every schema of the pipeline (the shipped ones, a registry's, one from the command
 * line) reaches avsc here, so an invalid one is always ONEX_SCHEMA_700 with avsc's reason.
 */
export function schemaType(json: unknown, options: SchemaTypeOptions = {}): avro.Type {
  try {
    return avro.Type.forSchema(json as avro.Schema, {
      ...(options.eventForm === false ? {} : { logicalTypes: LOGICAL_TYPES }),
      ...(options.registry ? { registry: options.registry } : {}),
      wrapUnions: 'auto',
    });
  } catch (cause) {
    throw onexError('ONEX_SCHEMA_700', `${options.what ?? 'The schema'} is not a valid Avro schema: ${(cause as Error).message}.`, { cause });
  }
}

/** Parses and validates a schema once; later calls with the same text or object get the same ParsedSchema. */
export function parseSchema(input: AvroSchemaInput): ParsedSchema {
  if (typeof input === 'object' && input !== null) {
    const hit = byObject.get(input);
    if (hit) return hit;
  }
  let text: string;
  let json: unknown;
  if (typeof input === 'string') {
    text = input;
    const cached = byText.get(text);
    if (cached) return cached;
    json = schemaJson(input, { bareNames: true });
  } else if (input === null || input === undefined) {
    throw onexError('ONEX_VALID_101', 'No schema was given.');
  } else {
    json = input;
    text = JSON.stringify(input);
    const cached = byText.get(text);
    if (cached) {
      byObject.set(input, cached);
      return cached;
    }
  }
  const parsed = build(json);
  if (byText.size >= CACHE_LIMIT) byText.delete(byText.keys().next().value!);
  byText.set(text, parsed);
  if (typeof input === 'object') byObject.set(input, parsed);
  return parsed;
}

function build(json: unknown): ParsedSchema {
  const type = schemaType(json);
  const declared =
    json !== null && typeof json === 'object' && !Array.isArray(json)
      ? (json as Record<string, unknown>)[VERSION_ATTRIBUTE]
      : undefined;
  return Object.freeze({
    json,
    type,
    node: toSchemaNode(json),
    fingerprint: type.fingerprint('sha256').toString('hex'),
    declaredVersion: typeof declared === 'string' ? declared : undefined,
  });
}
