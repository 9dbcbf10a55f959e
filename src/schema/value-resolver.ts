import { onexError } from '../errors/index.js';
import { isPlainObject, timestampMicros } from '../event/index.js';
import { checkReaderWriter } from './compatibility.js';
import type { ParsedSchema } from './parse.js';
import { describeNode, simpleName, type SchemaNode } from './schema-node.js';

/**
 * Avro schema resolution applied to values in memory (the event form), compiled once per (writer, reader) pair.
 * It does what decoding the writer's bytes with the reader schema would do (defaults for fields the writer lacks,
 * the reader's enum default for unknown symbols, promotions, dropped fields) without the bytes, so a MINOR step in
 * memory costs a copy instead of an encode and a decode. It also checks each value against the writer schema, as
 * encoding would have. Unions must be [null, T]: the event form unwraps them, and with one non-null branch the value
 * says which branch it is. For anything else it declines (undefined) and the caller goes through the bytes.
 */
export type ValueResolver = (value: unknown) => unknown;

class Unsupported extends Error {}

export function compileValueResolver(reader: ParsedSchema, writer: ParsedSchema): ValueResolver | undefined {
  if (!checkReaderWriter(reader.json as object, writer.json as object).compatible) return undefined;
  try {
    return new Compiler().compile(reader.node, writer.node, 'name' in writer.node ? simpleName(writer.node.name) : 'value');
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

function invalid(path: string, expected: string, value: unknown): never {
  let shown: string;
  try {
    shown = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  } catch {
    shown = String(value);
  }
  if (shown.length > 60) shown = `${shown.slice(0, 57)}...`;
  throw onexError('ONEX_EVENT_603', `${path} must be ${expected}, got ${shown}.`);
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

class Compiler {
  // Recursive schemas: a pair being compiled is reached again through a thunk filled in when it is done.
  private readonly pending = new Map<SchemaNode, Map<SchemaNode, { fn?: ValueResolver }>>();

  compile(reader: SchemaNode, writer: SchemaNode, path: string): ValueResolver {
    let byWriter = this.pending.get(reader);
    if (!byWriter) this.pending.set(reader, (byWriter = new Map()));
    const slot = byWriter.get(writer);
    if (slot) return slot.fn ?? ((v) => slot.fn!(v));
    const fresh: { fn?: ValueResolver } = {};
    byWriter.set(writer, fresh);
    fresh.fn = this.build(reader, writer, path);
    return fresh.fn;
  }

  private build(reader: SchemaNode, writer: SchemaNode, path: string): ValueResolver {
    if (writer.kind === 'union' || reader.kind === 'union') return this.union(reader, writer, path);
    switch (writer.kind) {
      case 'primitive':
        return this.primitive(reader, writer, path);
      case 'enum': {
        if (reader.kind !== 'enum') throw new Unsupported();
        const known = new Set(writer.symbols);
        const readable = new Set(reader.symbols);
        const fallback = reader.default;
        return (v) => {
          if (typeof v !== 'string' || !known.has(v)) invalid(path, `one of ${writer.name}`, v);
          if (readable.has(v)) return v;
          if (fallback === undefined) invalid(path, `a symbol of reader enum ${reader.name}`, v);
          return fallback;
        };
      }
      case 'array': {
        if (reader.kind !== 'array') throw new Unsupported();
        const item = this.compile(reader.items, writer.items, `${path}[]`);
        return (v) => {
          if (!Array.isArray(v)) invalid(path, 'an array', v);
          return v.map(item);
        };
      }
      case 'map': {
        if (reader.kind !== 'map') throw new Unsupported();
        const value = this.compile(reader.values, writer.values, `${path}{}`);
        return (v) => {
          if (!isPlainObject(v)) invalid(path, 'a map', v);
          const out: Record<string, unknown> = {};
          for (const key in v) out[key] = value(v[key]);
          return out;
        };
      }
      case 'fixed': {
        const size = writer.size;
        return (v) => {
          if (!Buffer.isBuffer(v) || v.length !== size) invalid(path, `${size} bytes`, v);
          return v;
        };
      }
      case 'record':
        return this.record(reader, writer, path);
    }
  }

  private union(reader: SchemaNode, writer: SchemaNode, path: string): ValueResolver {
    const split = (node: SchemaNode) => {
      const branches = node.kind === 'union' ? node.branches : [node];
      const nonNull = branches.filter((b) => !(b.kind === 'primitive' && b.type === 'null'));
      if (nonNull.length > 1) throw new Unsupported();
      return { nullable: nonNull.length < branches.length, value: nonNull[0] };
    };
    const w = split(writer);
    const r = split(reader);
    if ((w.nullable && !r.nullable) || (w.value && !r.value)) throw new Unsupported();
    const inner = w.value && r.value ? this.compile(r.value, w.value, path) : undefined;
    const nullable = w.nullable;
    return (v) => {
      if (v === null || (v === undefined && nullable)) {
        if (!nullable) invalid(path, describeNode(writer), v);
        return null;
      }
      if (!inner) invalid(path, 'null', v);
      return inner(v);
    };
  }

  private primitive(reader: SchemaNode, writer: Extract<SchemaNode, { kind: 'primitive' }>, path: string): ValueResolver {
    if (reader.kind !== 'primitive' || (reader.logical ?? '') !== (writer.logical ?? '')) throw new Unsupported();
    const check = primitiveCheck(writer, path);
    if (writer.type === 'string' && reader.type === 'bytes') return (v) => Buffer.from(check(v) as string);
    if (writer.type === 'bytes' && reader.type === 'string') return (v) => (check(v) as Buffer).toString();
    return check; // same type, or a numeric promotion: a JS number reads as any wider number
  }

  private record(reader: SchemaNode, writer: Extract<SchemaNode, { kind: 'record' }>, path: string): ValueResolver {
    if (reader.kind !== 'record') throw new Unsupported();
    // Generated code, as avsc does for its readers: an object literal with the reader's field names builds every
    // output record with one hidden class, and named reads stay monomorphic. Field names are Avro names
    // ([A-Za-z_][A-Za-z0-9_]*), quoted all the same.
    const args: unknown[] = [];
    const arg = (value: unknown): string => {
      args.push(value);
      return `a${args.length - 1}`;
    };
    const q = JSON.stringify;
    const used = new Set<string>();
    const entries: string[] = [];
    for (const field of reader.fields) {
      const source = writer.fields.find((f) => f.name === field.name || field.aliases.includes(f.name));
      if (source) {
        used.add(source.name);
        const resolve = arg(this.compile(field.type, source.type, `${path}.${source.name}`));
        const read = `v[${q(source.name)}]`;
        const value = source.hasDefault ? `(${read} === undefined ? ${defaultExpression(source.default, arg)} : ${read})` : read;
        entries.push(`${q(field.name)}: ${resolve}(${value})`);
      } else {
        // A logical type's default would have to be converted to the event form; the bytes path does that.
        if (field.type.kind === 'primitive' && field.type.logical) throw new Unsupported();
        entries.push(`${q(field.name)}: ${defaultExpression(field.default, arg)}`);
      }
    }
    // Fields the reader drops are still checked, as encoding with the writer schema would.
    const checks = writer.fields
      .filter((f) => !used.has(f.name))
      .map((f) => {
        const check = arg(this.compile(f.type, f.type, `${path}.${f.name}`));
        const read = `v[${q(f.name)}]`;
        return f.hasDefault ? `if (${read} !== undefined) ${check}(${read});` : `${check}(${read});`;
      });
    const notRecord = arg((v: unknown) => invalid(path, `a ${writer.name} record`, v));
    const isRecord = arg(isPlainObject);
    const source = `return function resolve(v) {
  if (!${isRecord}(v)) ${notRecord}(v);
  ${checks.join('\n  ')}
  return { ${entries.join(', ')} };
};`;
    const names = args.map((_, i) => `a${i}`);
    return new Function(...names, source)(...args) as ValueResolver;
  }
}

/** A default as code: the value itself for scalars, a fresh copy per record for arrays and objects. */
function defaultExpression(value: unknown, arg: (value: unknown) => string): string {
  if (value === null || typeof value !== 'object') return arg(value);
  return `${arg(copyDefault)}(${arg(value)})`;
}

function copyDefault(value: unknown): unknown {
  return value !== null && typeof value === 'object' ? structuredClone(value) : value;
}

function primitiveCheck(node: Extract<SchemaNode, { kind: 'primitive' }>, path: string): ValueResolver {
  const expected = node.logical ?? node.type;
  switch (node.logical) {
    case 'timestamp-micros':
      return (v) => (typeof v === 'string' && timestampMicros(v) !== undefined ? v : invalid(path, 'an ISO-8601 timestamp', v));
    case 'onex-json':
      return (v) => (v !== undefined && v !== null && typeof v !== 'function' ? v : invalid(path, 'a JSON value', v));
  }
  switch (node.type) {
    case 'null':
      return (v) => (v === null ? v : invalid(path, expected, v));
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : invalid(path, expected, v));
    case 'int':
      return (v) => (Number.isInteger(v) && (v as number) >= INT32_MIN && (v as number) <= INT32_MAX ? v : invalid(path, expected, v));
    case 'long':
      return (v) => (Number.isSafeInteger(v) ? v : invalid(path, expected, v));
    case 'float':
    case 'double':
      return (v) => (typeof v === 'number' ? v : invalid(path, expected, v));
    case 'string':
      return (v) => (typeof v === 'string' ? v : invalid(path, expected, v));
    case 'bytes':
      return (v) => (Buffer.isBuffer(v) ? v : invalid(path, expected, v));
  }
}
