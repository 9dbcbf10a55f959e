/**
 * Cheap pre-filters read off a rule's CEL expression, so that an event meets only the rules that can match it.
 *
 * From the expression's syntax tree we take necessary conditions: comparisons of an event field with string literals
 * that the expression can only be true with. `event.event_type == "NODE_START"`, `event.event_type in ["A", "B"]`,
 * `event.node_id.startsWith("stamper")`, `.endsWith`, `.contains`, joined by `&&` (every side must hold) and `||`
 * (one side must). Anything else (a negation, a ternary, a number, a function call) gives no condition: the rule is
 * evaluated as before. Conditions are only ever necessary: an event that passes them is still evaluated by CEL,
 * unless the expression is nothing but such comparisons (then the guard is the expression and CEL is skipped). So a
 * rule matches exactly the events it matched without the pre-filter (a unit test compares the two on generated
 * events).
 *
 * Why this is sound: CEL's `&&` is true only when both sides are true and `||` only when one side is (errors and
 * non-booleans never make them true); `==` between a string and anything else is never true; the predicate counts
 * only a `true` result as a match. The field is read the same way CEL reads it (an object's own property or a Map's entry).
 *
 * The event types an expression can be true for (from the conditions on `event.event_type`) index the rules by type
 * in the engine; the other conditions are guards run before the CEL program.
 */

/** The necessary conditions of one expression. */
export interface PreFilter {
  /** The event types the expression can be true for; undefined when it says nothing of the type. */
  types?: ReadonlySet<string>;
  /** A cheap test that is true for every event the expression is true for; undefined when there is none. */
  guard?: (event: Record<string, unknown>) => boolean;
  /**
   * The guard is the expression: it is made only of the comparisons above, joined by && and ||, so the guard is true
   * exactly when CEL returns true (a missing field or a non-string is false on both sides) and CEL need not run.
   */
  exact?: boolean;
}

interface Node { op: string; args: unknown }

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && typeof (v as Node).op === 'string';

/** `event.a.b` as ['a', 'b']; undefined for anything else. */
function fieldPath(n: unknown): string[] | undefined {
  const path: string[] = [];
  let cur: unknown = n;
  while (isNode(cur) && cur.op === '.') {
    const [inner, name] = cur.args as [unknown, unknown];
    if (typeof name !== 'string') return undefined;
    path.unshift(name);
    cur = inner;
  }
  return isNode(cur) && cur.op === 'id' && cur.args === 'event' && path.length > 0 ? path : undefined;
}

const stringLiteral = (n: unknown): string | undefined => (isNode(n) && n.op === 'value' && typeof n.args === 'string' ? n.args : undefined);

/** A field as CEL reads it: an own property of an object, or a Map's entry. */
function step(v: unknown, p: string): unknown {
  if (v === null || typeof v !== 'object') return undefined;
  if (v instanceof Map) return v.get(p);
  return Object.hasOwn(v, p) ? (v as Record<string, unknown>)[p] : undefined;
}

function reader(path: readonly string[]): (event: Record<string, unknown>) => unknown {
  if (path.length === 1) {
    const [p] = path as [string];
    return (e) => step(e, p);
  }
  return (e) => {
    let v: unknown = e;
    for (const p of path) v = step(v, p);
    return v;
  };
}

/** A condition that a field is a string satisfying `test`; types when the field is event_type and the set is known. */
function onField(path: string[], test: (s: string) => boolean, types?: ReadonlySet<string>): PreFilter {
  const read = reader(path);
  return {
    ...(path.length === 1 && path[0] === 'event_type' && types ? { types } : {}),
    exact: true,
    guard: (e) => {
      const v = read(e);
      return typeof v === 'string' && test(v);
    },
  };
}

const STRING_METHODS: Record<string, (s: string, lit: string) => boolean> = {
  startsWith: (s, lit) => s.startsWith(lit),
  endsWith: (s, lit) => s.endsWith(lit),
  contains: (s, lit) => s.includes(lit),
};

function both(a: PreFilter, b: PreFilter): PreFilter {
  const types = a.types && b.types ? new Set([...a.types].filter((t) => b.types!.has(t))) : (a.types ?? b.types);
  const ga = a.guard;
  const gb = b.guard;
  const guard = ga && gb ? (e: Record<string, unknown>) => ga(e) && gb(e) : (ga ?? gb);
  return { ...(types ? { types } : {}), ...(guard ? { guard } : {}), ...(a.exact && b.exact ? { exact: true } : {}) };
}

function either(a: PreFilter, b: PreFilter): PreFilter {
  const types = a.types && b.types ? new Set([...a.types, ...b.types]) : undefined;
  const ga = a.guard;
  const gb = b.guard;
  // One side without a guard can be true for any event, so the whole has none.
  const guard = ga && gb ? (e: Record<string, unknown>) => ga(e) || gb(e) : undefined;
  return { ...(types ? { types } : {}), ...(guard ? { guard } : {}), ...(a.exact && b.exact ? { exact: true } : {}) };
}

/** The necessary conditions of a cel-js syntax tree (`parse(source).ast`). */
export function preFilterOf(ast: unknown): PreFilter {
  if (!isNode(ast)) return {};
  const args = ast.args as unknown[];
  switch (ast.op) {
    case '&&':
      return both(preFilterOf(args[0]), preFilterOf(args[1]));
    case '||':
      return either(preFilterOf(args[0]), preFilterOf(args[1]));
    case '==': {
      const [l, r] = args;
      const path = fieldPath(l) ?? fieldPath(r);
      const lit = fieldPath(l) ? stringLiteral(r) : stringLiteral(l);
      if (!path || lit === undefined) return {};
      return onField(path, (s) => s === lit, new Set([lit]));
    }
    case 'in': {
      const [l, r] = args;
      const path = fieldPath(l);
      if (!path || !isNode(r) || r.op !== 'list') return {};
      const items = (r.args as unknown[]).map(stringLiteral);
      if (items.some((i) => i === undefined)) return {};
      const set = new Set(items as string[]);
      return onField(path, (s) => set.has(s), set);
    }
    case 'rcall': {
      const [name, target, callArgs] = args as [unknown, unknown, unknown[]];
      const method = typeof name === 'string' && Object.hasOwn(STRING_METHODS, name) ? STRING_METHODS[name]! : undefined;
      const path = fieldPath(target);
      const lit = Array.isArray(callArgs) && callArgs.length === 1 ? stringLiteral(callArgs[0]) : undefined;
      if (!method || !path || lit === undefined) return {};
      return onField(path, (s) => method(s, lit));
    }
    default:
      return {};
  }
}
