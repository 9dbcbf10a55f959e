import { onexError } from '../errors/index.js';

/**
 * An Avro schema as the resolution rules see it: named types resolved to their definitions (a recursive schema is a
 * graph with cycles), names made full, aliases made full, logical types and docs left aside (schema resolution
 * ignores them). Built from JSON that avsc has already accepted as a valid schema, so this code only reshapes.
 */
export type PrimitiveName = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';

export interface SchemaField {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly type: SchemaNode;
  readonly hasDefault: boolean;
  readonly default: unknown;
}

export type SchemaNode =
  | { readonly kind: 'primitive'; readonly type: PrimitiveName; readonly logical?: string }
  | { readonly kind: 'record'; readonly name: string; readonly aliases: readonly string[]; readonly fields: SchemaField[] }
  | {
      readonly kind: 'enum';
      readonly name: string;
      readonly aliases: readonly string[];
      readonly symbols: readonly string[];
      readonly default: string | undefined;
    }
  | { readonly kind: 'fixed'; readonly name: string; readonly aliases: readonly string[]; readonly size: number }
  | { readonly kind: 'array'; readonly items: SchemaNode }
  | { readonly kind: 'map'; readonly values: SchemaNode }
  | { readonly kind: 'union'; readonly branches: readonly SchemaNode[] };

export type NamedNode = Extract<SchemaNode, { name: string }>;

const PRIMITIVES = new Set<string>(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/** Last part of a full name: onex.event.OnexEvent -> OnexEvent. */
export function simpleName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

function qualify(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}

export function toSchemaNode(json: unknown): SchemaNode {
  const named = new Map<string, SchemaNode>();

  const build = (s: unknown, namespace: string): SchemaNode => {
    if (typeof s === 'string') {
      if (PRIMITIVES.has(s)) return { kind: 'primitive', type: s as PrimitiveName };
      const found = named.get(qualify(s, namespace)) ?? named.get(s);
      if (!found) throw onexError('ONEX_SCHEMA_700', `The schema refers to the undefined type ${s}.`);
      return found;
    }
    if (Array.isArray(s)) return { kind: 'union', branches: s.map((b) => build(b, namespace)) };
    if (s === null || typeof s !== 'object') throw onexError('ONEX_SCHEMA_700', `${JSON.stringify(s)} is not an Avro schema.`);
    const o = s as Record<string, unknown>;
    const type = o.type;
    if (typeof type !== 'string') return build(type, namespace);
    if (PRIMITIVES.has(type)) {
      // Resolution ignores logical types; the in-memory resolver needs them (its values are the logical form).
      return typeof o.logicalType === 'string'
        ? { kind: 'primitive', type: type as PrimitiveName, logical: o.logicalType }
        : { kind: 'primitive', type: type as PrimitiveName };
    }
    switch (type) {
      case 'array':
        return { kind: 'array', items: build(o.items, namespace) };
      case 'map':
        return { kind: 'map', values: build(o.values, namespace) };
      case 'record':
      case 'error':
      case 'enum':
      case 'fixed': {
        const rawName = String(o.name);
        const ns = rawName.includes('.')
          ? rawName.slice(0, rawName.lastIndexOf('.'))
          : typeof o.namespace === 'string'
            ? o.namespace
            : namespace;
        const name = qualify(rawName, ns);
        const aliases = ((o.aliases as string[] | undefined) ?? []).map((a) => qualify(a, ns));
        if (type === 'enum') {
          const node: SchemaNode = {
            kind: 'enum',
            name,
            aliases,
            symbols: o.symbols as string[],
            default: typeof o.default === 'string' ? o.default : undefined,
          };
          named.set(name, node);
          return node;
        }
        if (type === 'fixed') {
          const node: SchemaNode = { kind: 'fixed', name, aliases, size: Number(o.size) };
          named.set(name, node);
          return node;
        }
        // Registered before its fields are built, so that a field can refer back to the record (recursion).
        const fields: SchemaField[] = [];
        const node: SchemaNode = { kind: 'record', name, aliases, fields };
        named.set(name, node);
        for (const f of (o.fields as Record<string, unknown>[]) ?? []) {
          fields.push({
            name: String(f.name),
            aliases: (f.aliases as string[] | undefined) ?? [],
            type: build(f.type, ns),
            hasDefault: Object.hasOwn(f, 'default'),
            default: f.default,
          });
        }
        return node;
      }
      default: {
        const found = named.get(qualify(type, namespace)) ?? named.get(type);
        if (!found) throw onexError('ONEX_SCHEMA_700', `The schema refers to the undefined type ${type}.`);
        return found;
      }
    }
  };
  return build(json, '');
}

/** Short human name of a schema node for messages: int, record onex.event.ReplayMarker, array<string>. */
export function describeNode(node: SchemaNode): string {
  switch (node.kind) {
    case 'primitive':
      return node.type;
    case 'record':
    case 'enum':
    case 'fixed':
      return `${node.kind} ${node.name}`;
    case 'array':
      return `array<${describeNode(node.items)}>`;
    case 'map':
      return `map<${describeNode(node.values)}>`;
    case 'union':
      return `union[${node.branches.map(describeNode).join(', ')}]`;
  }
}
