import avro from 'avsc';
import { formatTimestamp, timestampMicros } from '../event/index.js';
import * as tap from './avro-tap.js';

/**
 * Encoders and decoders compiled for one schema, straight between the event form and Avro bytes.
 *
 * avsc goes through a generic path per field: every value of a ["null", X] union is bucketed and offered to each
 * logical branch, each logical value is converted, every string is measured before it is written, and decoded
 * records are instances of generated classes. Compiled per schema, a field is a few lines: its type checked, its
 * bytes written. The bytes are avsc's (same algorithms, same defaults; tests compare them with avsc's toBuffer), and
 * the compiled path only takes what it knows to be valid: anything else (a value that does not fit, bytes that do not
 * decode) makes it give up, and the caller runs avsc, which has the final say and the precise error.
 *
 * The event form differs from avsc values in one place: a 2.0.0 event carries its typed metadata record itself and
 * its event_type says which branch of the metadata union it is (avsc wants { "onex.event.NodeStartMetadata": {...} }).
 * `metadataBranch` tells the compiled 2.0.0 codec which branch an event's metadata takes.
 */

export interface CompiledCodec {
  /** Writes the event at `offset` of `buffer` and returns where it ended (past the buffer's length: did not fit). */
  write(event: Record<string, unknown>, buffer: Buffer, offset: number): number;
  /** The event in the bytes, or undefined when they do not decode (the caller asks avsc why). */
  read(buffer: Buffer): Record<string, unknown> | undefined;
}

export interface CompileOptions {
  /**
   * The version of the bytes: written into the top-level string field `schema_version` whatever the event says, and
   * read from it whatever the bytes say (a PATCH of the version reads as the version).
   */
  schemaVersion?: string | undefined;
  /** Whether an event's own schema_version may be written as this schema (checked before anything is written). */
  acceptsSchemaVersion?: ((stated: unknown) => boolean) | undefined;
  /** For a wrapped union in the top-level `metadata` field: the branch name (namespaced) of an event's metadata. */
  metadataBranch?: ((eventType: unknown, metadata: unknown) => string) | undefined;
}

/** Thrown inside compiled writers when a value does not fit; never leaves this module. */
class DoesNotFit extends Error {}
const doesNotFit = (): never => {
  throw new DoesNotFit();
};

const TIMESTAMP = 'logical:timestamp-micros';
const JSON_TEXT = 'logical:onex-json';

/** The codec of a record schema, or undefined when it uses a type the compiler does not handle (avsc then does all). */
export function compileCodec(type: avro.Type, options: CompileOptions = {}): CompiledCodec | undefined {
  return compileProgram(type, type, options);
}

function compileProgram(type: avro.Type, writer: avro.Type, options: CompileOptions): CompiledCodec | undefined {
  if (type.typeName !== 'record' || writer.typeName !== 'record') return undefined;
  const c = new Compilation(options);
  let source: string;
  try {
    source = c.program(type, writer);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  const build = new Function('tap', 'fmtTs', 'parseTs', 'toJson', 'fail', 'K', source) as (...args: unknown[]) => CompiledCodec;
  return build(tap, formatTimestamp, timestampMicros, jsonText, doesNotFit, c.constants);
}

/**
 * A reader of bytes written with `writer` into values of `reader`, for an earlier MINOR writer (see
 * requireEarlierMinor); undefined for any other pair (avsc's resolver does those).
 */
export function compileResolution(writer: avro.Type, reader: avro.Type, options: CompileOptions = {}): CompiledCodec['read'] | undefined {
  return compileProgram(reader, writer, options)?.read;
}

/** What avsc's onex-json logical type writes: the JSON text of any value JSON can carry. */
function jsonText(value: unknown): string {
  const text = value === null || value === undefined ? undefined : JSON.stringify(value);
  if (text === undefined) throw new DoesNotFit();
  return text;
}

class Unsupported extends Error {}

/** Whether a reader of `reader` reads bytes of `writer` right: the same schema, or an enum with symbols added at the end. */
function sameReading(writer: avro.Type, reader: avro.Type): boolean {
  if (writer.typeName === 'enum' && reader.typeName === 'enum') {
    const symbols = (reader as avro.types.EnumType).symbols;
    return (writer as avro.types.EnumType).symbols.every((s, i) => symbols[i] === s);
  }
  return JSON.stringify(writer.schema({ exportAttrs: true })) === JSON.stringify(reader.schema({ exportAttrs: true }));
}

/** Source text of one schema's writer and reader functions, and the constants they refer to (as K[i]). */
class Compilation {
  readonly constants: unknown[] = [];
  private readonly functions: string[] = [];
  private vars = 0;

  constructor(private readonly options: CompileOptions) {}

  /** Writer and reader of `root`; with another `writer` schema, only a reader of its bytes into `root` values. */
  program(root: avro.Type, writer: avro.Type = root): string {
    const write = writer === root ? this.recordWriter(root, true) : 'fail';
    const read = this.recordReader(root, true, writer);
    return [
      'const { writeLong: wl, writeString: ws, writeDouble: wd, writeBoolean: wb, writeRaw: wr } = tap;',
      'const { readLong: rl, readString: rs, readDouble: rd, readBoolean: rb, readEnum: re, readArray: ra, badUnionIndex: bad } = tap;',
      'const { startWriting, written, stopWriting, startReading, readToEnd } = tap;',
      'let ix = 0;',
      ...this.functions,
      // The entry points live here too: calls across modules cost more than calls within one (under tsx, a getter).
      `function write(event, buffer, offset) {
  startWriting(buffer, offset);
  try {
    ${write}(event);
    return written();
  } finally {
    stopWriting();
  }
}`,
      `function read(buffer) {
  startReading(buffer);
  let value;
  try {
    value = ${read}();
  } catch {
    value = undefined;
  }
  return readToEnd() ? value : undefined;
}`,
      'return { write, read };',
    ].join('\n');
  }

  private constant(value: unknown): string {
    this.constants.push(value);
    return `K[${this.constants.length - 1}]`;
  }

  private fresh(): string {
    return `v${this.vars++}`;
  }

  /** Name suffix of a record type's writer and reader functions. */
  private idOf(type: avro.Type): string {
    let id = this.ids.get(type);
    if (id === undefined) this.ids.set(type, (id = `${this.ids.size}`));
    return id;
  }

  private readonly ids = new Map<avro.Type, string>();
  private readonly done = new Set<string>();

  /** Name of the function that writes a record (generated once per record type). */
  private recordWriter(type: avro.Type, root = false): string {
    const name = `w_${this.idOf(type)}`;
    if (this.done.has(name)) return name;
    this.done.add(name);
    const lines = ['if (v === null || typeof v !== "object" || Array.isArray(v)) fail();'];
    if (root && this.options.acceptsSchemaVersion) lines.push(`if (!${this.constant(this.options.acceptsSchemaVersion)}(v.schema_version)) fail();`);
    for (const field of (type as avro.types.RecordType).fields) {
      if (root && this.options.schemaVersion !== undefined && field.name === 'schema_version' && field.type.typeName === 'string') {
        lines.push(`wr(${this.constant(new Uint8Array(field.type.toBuffer(this.options.schemaVersion)))});`);
        continue;
      }
      const value = this.fresh();
      lines.push(`const ${value} = v[${JSON.stringify(field.name)}];`);
      if (root && this.isMetadataUnion(field)) {
        lines.push(this.metadataUnionWriter(field.type as avro.types.WrappedUnionType, value));
        continue;
      }
      const write = this.writer(field.type, value);
      const fallback = field.defaultValue();
      if (fallback === undefined) lines.push(write);
      else lines.push(`if (${value} === undefined) wr(${this.constant(new Uint8Array(field.type.toBuffer(fallback)))}); else { ${write} }`);
    }
    this.functions.push(`function ${name}(v) {\n  ${lines.join('\n  ')}\n}`);
    return name;
  }

  /** Name of the function that reads a record into a plain object (generated once per record type). */
  private recordReader(type: avro.Type, root = false, writer: avro.Type = type): string {
    const name = `r_${this.idOf(type)}`;
    if (this.done.has(name)) return name;
    this.done.add(name);
    const written = (writer as avro.types.RecordType).fields;
    if (writer !== type) this.requireEarlierMinor(writer as avro.types.RecordType, type as avro.types.RecordType);
    const entries = (type as avro.types.RecordType).fields.map((field, i) => {
      let read: string;
      if (i >= written.length) read = this.constant(field.defaultValue());
      else read = root && this.isMetadataUnion(field) ? this.metadataUnionReader(field.type as avro.types.WrappedUnionType) : this.reader(field.type);
      if (root && this.options.schemaVersion !== undefined && field.name === 'schema_version') {
        const version = this.constant(this.options.schemaVersion);
        read = i >= written.length ? version : `(${read}, ${version})`;
      }
      return `${JSON.stringify(field.name)}: ${read}`;
    });
    this.functions.push(`function ${name}() {\n  return {\n    ${entries.join(',\n    ')}\n  };\n}`);
    return name;
  }

  /**
   * The one kind of schema resolution compiled: the writer is an earlier MINOR whose fields are the first fields of
   * the reader, of the same types (an enum may have gained symbols at its end), and the reader's later fields have
   * scalar defaults. A reader of the reader's fields then reads the writer's bytes and fills in the defaults.
   */
  private requireEarlierMinor(writer: avro.types.RecordType, reader: avro.types.RecordType): void {
    const local = (name: string | undefined) => name?.slice(name.lastIndexOf('.') + 1);
    if (local(writer.name) !== local(reader.name) || writer.fields.length > reader.fields.length) throw new Unsupported();
    writer.fields.forEach((w, i) => {
      const r = reader.fields[i]!;
      if (w.name !== r.name || !sameReading(w.type, r.type)) throw new Unsupported();
    });
    for (const r of reader.fields.slice(writer.fields.length)) {
      const fallback: unknown = r.defaultValue();
      if (fallback === undefined || (fallback !== null && typeof fallback === 'object')) throw new Unsupported();
    }
  }

  private isMetadataUnion(field: avro.types.Field): boolean {
    return this.options.metadataBranch !== undefined && field.name === 'metadata' && field.type.typeName === 'union:wrapped';
  }

  /** Statements that check `value` against `type` (failing when it does not fit) and write it. */
  private writer(type: avro.Type, value: string): string {
    switch (type.typeName) {
      case 'null':
        return `if (${value} !== null) fail();`;
      case 'boolean':
        return `if (typeof ${value} !== "boolean") fail(); wb(${value});`;
      case 'int':
        return `if (${value} !== (${value} | 0)) fail(); wl(${value});`;
      case 'long':
        return `if (typeof ${value} !== "number" || ${value} % 1 || !(${value} >= -9007199254740990 && ${value} <= 9007199254740990)) fail(); wl(${value});`;
      case 'double':
        return `if (typeof ${value} !== "number") fail(); wd(${value});`;
      case 'string':
        return `if (typeof ${value} !== "string") fail(); ws(${value});`;
      case 'enum': {
        const symbols = (type as avro.types.EnumType).symbols;
        const index = this.constant(new Map(symbols.map((s, i) => [s, i])));
        const i = this.fresh();
        return `const ${i} = ${index}.get(${value}); if (${i} === undefined) fail(); wl(${i});`;
      }
      case 'record':
        return `${this.recordWriter(type)}(${value});`;
      case 'array': {
        const item = this.fresh();
        const items = (type as avro.types.ArrayType).itemsType;
        return `if (!Array.isArray(${value})) fail(); if (${value}.length) { wl(${value}.length); for (const ${item} of ${value}) { ${this.writer(items, item)} } } wl(0);`;
      }
      case 'union:unwrapped': {
        // The branch's own checks (a record refuses arrays, an array refuses objects) are avsc's bucketing.
        const [nullAt, other] = this.nullableUnion(type);
        return `if (${value} === null) wl(${nullAt}); else { wl(${1 - nullAt}); ${this.writer(other, value)} }`;
      }
      case TIMESTAMP: {
        const micros = this.fresh();
        return `const ${micros} = typeof ${value} === "string" ? parseTs(${value}) : undefined; if (${micros} === undefined) fail(); wl(${micros});`;
      }
      case JSON_TEXT:
        return `ws(toJson(${value}));`;
      default:
        throw new Unsupported();
    }
  }

  /** An expression that reads a value of `type`. */
  private reader(type: avro.Type): string {
    switch (type.typeName) {
      case 'null':
        return 'null';
      case 'boolean':
        return 'rb()';
      case 'int':
      case 'long':
        return 'rl()';
      case 'double':
        return 'rd()';
      case 'string':
        return 'rs()';
      case 'enum':
        return `re(${this.constant((type as avro.types.EnumType).symbols)})`;
      case 'record':
        return `${this.recordReader(type)}()`;
      case 'array':
        return `ra(() => ${this.reader((type as avro.types.ArrayType).itemsType)})`;
      case 'union:unwrapped': {
        const [nullAt, other] = this.nullableUnion(type);
        return `((ix = rl()) === ${nullAt} ? null : ix === ${1 - nullAt} ? ${this.reader(other)} : bad())`;
      }
      case TIMESTAMP:
        return 'fmtTs(rl())';
      case JSON_TEXT:
        return 'JSON.parse(rs())';
      default:
        throw new Unsupported();
    }
  }

  /** [index of null, the other branch] of a ["null", X] or [X, "null"] union; other unions are not compiled. */
  private nullableUnion(type: avro.Type): [number, avro.Type] {
    const types = (type as avro.types.UnwrappedUnionType).types;
    if (types.length !== 2) throw new Unsupported();
    if (types[0]!.typeName === 'null' && types[1]!.typeName !== 'null') return [0, types[1]!];
    if (types[1]!.typeName === 'null' && types[0]!.typeName !== 'null') return [1, types[0]!];
    throw new Unsupported();
  }

  /** The 2.0.0 metadata union: null, or the record branch the event type (or an `untyped` key) names. */
  private metadataUnionWriter(type: avro.types.WrappedUnionType, value: string): string {
    const branch = this.fresh();
    const cases = type.types.map((t, i) => {
      if (t.typeName === 'null') return '';
      if (t.typeName !== 'record') throw new Unsupported();
      return `case ${JSON.stringify(t.branchName)}: wl(${i}); ${this.writer(t, value)} break;`;
    });
    const nullAt = type.types.findIndex((t) => t.typeName === 'null');
    const ifNull = nullAt < 0 ? 'fail();' : `wl(${nullAt});`;
    const pick = this.constant(this.options.metadataBranch);
    return `if (${value} === null || ${value} === undefined) { ${ifNull} } else { const ${branch} = ${pick}(v.event_type, ${value}); switch (${branch}) { ${cases.join(' ')} default: fail(); } }`;
  }

  private metadataUnionReader(type: avro.types.WrappedUnionType): string {
    const branches = type.types.map((t) => (t.typeName === 'null' ? 'null' : this.reader(t)));
    const chain = branches.map((read, i) => `ix === ${i} ? ${read} : `).join('');
    return `((ix = rl()), ${chain}bad())`;
  }
}
