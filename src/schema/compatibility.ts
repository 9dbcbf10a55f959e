import { onexError } from '../errors/index.js';
import { parseSchema, type AvroSchemaInput } from './parse.js';
import { describeNode, simpleName, type NamedNode, type SchemaNode } from './schema-node.js';
import type { CompatibilityMode, CompatibilityReason, CompatibilityResult, IncompatibilityType } from './types.js';

/**
 * Schema compatibility on Avro's schema resolution rules (the "Schema Resolution" section of the Avro
 * specification), reporting every incompatibility with the type names Avro Java's SchemaCompatibility and the
 * Confluent registry use, so a Confluent-compatible registry can print them as they are.
 */

export const COMPATIBILITY_MODES: readonly CompatibilityMode[] = Object.freeze([
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
]);

export function isCompatibilityMode(value: unknown): value is CompatibilityMode {
  return typeof value === 'string' && (COMPATIBILITY_MODES as readonly string[]).includes(value);
}

/**
 * Can data written with `writer` be read with `reader`? Every reason, not only the first. Recursive schemas are
 * handled as Avro Java does: a (reader, writer) pair under examination is assumed compatible until proven not.
 */
export function checkReaderWriter(reader: AvroSchemaInput, writer: AvroSchemaInput): CompatibilityResult {
  const r = parseSchema(reader).node;
  const w = parseSchema(writer).node;
  const reasons = new ReaderWriterChecker().check(r, w, rootPath(r));
  return { compatible: reasons.length === 0, reasons };
}

/**
 * Compatibility of `next` with the schemas before it. previous is ordered oldest -> newest; the plain modes compare
 * with the newest only, the TRANSITIVE modes with every one. BACKWARD: next can read data written with the previous
 * schemas. FORWARD: the previous schemas can read data written with next. FULL: both. NONE: no check. An array is
 * always a list of schemas: pass a single union schema as JSON text (or inside a list).
 */
export function checkCompatibility(
  previous: AvroSchemaInput | AvroSchemaInput[],
  next: AvroSchemaInput,
  mode: CompatibilityMode,
): CompatibilityResult {
  if (!isCompatibilityMode(mode)) {
    throw onexError('ONEX_SCHEMA_700', `Unknown compatibility mode ${String(mode)}; use one of ${COMPATIBILITY_MODES.join(', ')}.`);
  }
  const all = Array.isArray(previous) ? previous : [previous];
  const nextNode = parseSchema(next).node;
  const prevNodes = all.map((p) => parseSchema(p).node); // parse all: an invalid schema is an error in every mode
  if (mode === 'NONE' || prevNodes.length === 0) return { compatible: true, reasons: [] };
  const transitive = mode.endsWith('_TRANSITIVE');
  const base = mode.replace('_TRANSITIVE', '');
  const targets = transitive ? prevNodes.map((node, index) => ({ node, index })) : [{ node: prevNodes.at(-1)!, index: prevNodes.length - 1 }];
  const reasons: CompatibilityReason[] = [];
  for (const { node, index } of targets) {
    const which = prevNodes.length > 1 ? `previous schema ${index + 1} of ${prevNodes.length}` : 'the previous schema';
    if (base === 'BACKWARD' || base === 'FULL') {
      for (const r of new ReaderWriterChecker().check(nextNode, node, rootPath(nextNode))) {
        reasons.push({ ...r, message: `${r.message} (new schema reading data written with ${which})` });
      }
    }
    if (base === 'FORWARD' || base === 'FULL') {
      for (const r of new ReaderWriterChecker().check(node, nextNode, rootPath(node))) {
        reasons.push({ ...r, message: `${r.message} (${which} reading data written with the new schema)` });
      }
    }
  }
  return { compatible: reasons.length === 0, reasons };
}

function rootPath(node: SchemaNode): string {
  return 'name' in node ? simpleName(node.name) : describeNode(node);
}

/** Avro promotions: the writer type (key) can be read as each reader type listed. */
const PROMOTIONS: Readonly<Record<string, readonly string[]>> = {
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  string: ['bytes'],
  bytes: ['string'],
};

class ReaderWriterChecker {
  // (reader, writer) pairs being examined or done; undefined result = in progress (recursion: assume compatible).
  private readonly memo = new Map<SchemaNode, Map<SchemaNode, CompatibilityReason[] | undefined>>();

  check(reader: SchemaNode, writer: SchemaNode, path: string): CompatibilityReason[] {
    let byWriter = this.memo.get(reader);
    if (!byWriter) this.memo.set(reader, (byWriter = new Map()));
    if (byWriter.has(writer)) return byWriter.get(writer) ?? [];
    byWriter.set(writer, undefined);
    const result = this.calculate(reader, writer, path);
    byWriter.set(writer, result);
    return result;
  }

  private calculate(reader: SchemaNode, writer: SchemaNode, path: string): CompatibilityReason[] {
    // A writer union is readable when each of its branches is.
    if (writer.kind === 'union') {
      if (reader.kind !== 'union') return writer.branches.flatMap((b) => this.check(reader, b, path));
      const reasons: CompatibilityReason[] = [];
      for (const branch of writer.branches) {
        if (this.check(reader, branch, path).length > 0) {
          reasons.push(reason('MISSING_UNION_BRANCH', path, `reader union lacks a branch that can read writer type ${describeNode(branch)}`));
        }
      }
      return reasons;
    }
    if (reader.kind === 'union') {
      // The first reader branch that can read the writer's type is the one resolution picks.
      if (reader.branches.some((b) => this.check(b, writer, path).length === 0)) return [];
      return [reason('MISSING_UNION_BRANCH', path, `reader union lacks a branch that can read writer type ${describeNode(writer)}`)];
    }
    if (reader.kind !== writer.kind) return [typeMismatch(reader, writer, path)];
    switch (reader.kind) {
      case 'primitive': {
        const w = writer as typeof reader;
        if (reader.type === w.type || PROMOTIONS[w.type]?.includes(reader.type)) return [];
        return [typeMismatch(reader, writer, path)];
      }
      case 'array':
        return this.check(reader.items, (writer as typeof reader).items, `${path}[]`);
      case 'map':
        return this.check(reader.values, (writer as typeof reader).values, `${path}{}`);
      case 'fixed': {
        const w = writer as typeof reader;
        const reasons = nameCheck(reader, w, path);
        if (reader.size !== w.size) {
          reasons.push(reason('FIXED_SIZE_MISMATCH', path, `reader fixed ${reader.name} has ${reader.size} bytes, writer fixed ${w.name} has ${w.size}`));
        }
        return reasons;
      }
      case 'enum': {
        const w = writer as typeof reader;
        const reasons = nameCheck(reader, w, path);
        const missing = w.symbols.filter((s) => !reader.symbols.includes(s));
        if (missing.length > 0 && !(reader.default !== undefined && reader.symbols.includes(reader.default))) {
          reasons.push(reason('MISSING_ENUM_SYMBOLS', path, `reader enum ${reader.name} lacks the writer symbols [${missing.join(', ')}] and has no default symbol`));
        }
        return reasons;
      }
      case 'record': {
        const w = writer as typeof reader;
        const reasons = nameCheck(reader, w, path);
        for (const field of reader.fields) {
          const fieldPath = `${path}.${field.name}`;
          const matches = w.fields.filter((f) => f.name === field.name || field.aliases.includes(f.name));
          if (matches.length > 1) {
            reasons.push(reason('TYPE_MISMATCH', fieldPath, `reader field ${field.name} matches ${matches.length} writer fields through its aliases`));
          } else if (matches.length === 0) {
            if (!field.hasDefault) {
              reasons.push(reason('READER_FIELD_MISSING_DEFAULT_VALUE', fieldPath, `reader field ${field.name} has no default value and the writer record ${w.name} has no such field`));
            }
          } else {
            reasons.push(...this.check(field.type, matches[0]!.type, fieldPath));
          }
        }
        return reasons;
      }
    }
  }
}

/** Unqualified names match (the Avro specification), or a reader alias names the writer's full name. */
function nameCheck(reader: NamedNode, writer: NamedNode, path: string): CompatibilityReason[] {
  if (simpleName(reader.name) === simpleName(writer.name) || reader.aliases.includes(writer.name)) return [];
  return [reason('NAME_MISMATCH', path, `reader ${reader.kind} ${reader.name} has neither the name nor an alias of writer ${writer.kind} ${writer.name}`)];
}

function typeMismatch(reader: SchemaNode, writer: SchemaNode, path: string): CompatibilityReason {
  return reason('TYPE_MISMATCH', path, `reader type ${describeNode(reader)} cannot read writer type ${describeNode(writer)}`);
}

function reason(rule: IncompatibilityType, path: string, message: string): CompatibilityReason {
  return { rule, path, message };
}
