import { readFileSync } from 'node:fs';
import { parse as parseCel } from '@marcbachmann/cel-js';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { onexError, type OnexCode, type OnexError } from '../../errors/index.js';
import { preFilterOf } from './prefilter.js';

/**
 * The alert rule file: YAML, validated at load with zod, every CEL expression compiled at load. Each mistake is one
 * RuleProblem with an ONEX code, the file, the line and the field (`rules[2].window`), so `onex alerts check` can list
 * them all at once. docs/alerting.md describes the format.
 *
 * Codes: ONEX_VALID_120 the file is not YAML, ONEX_VALID_110 a field is missing / of the wrong type / unknown,
 * ONEX_VALID_111 a CEL expression does not parse, ONEX_VALID_121 a template names something the rule does not have,
 * ONEX_VALID_122 two rules share a name.
 */

export type RuleKind = 'threshold' | 'ratio' | 'sequence' | 'absence' | 'deprecated_schema';

/**
 * A compiled CEL predicate over `{ event }`; a non-boolean result counts as no match. It runs its pre-filter's guard
 * first (see prefilter.ts), which only skips the CEL program for events it cannot be true for.
 */
export interface Predicate {
  (event: Record<string, unknown>): boolean;
  /** The event types it can be true for (read off the expression); undefined when any type can match. */
  readonly eventTypes?: ReadonlySet<string>;
  /** The CEL program alone, without the pre-filter (the onex.alerts.prefilter flag off). */
  readonly unfiltered: (event: Record<string, unknown>) => boolean;
  /**
   * The expression's text, set by the rule loader (whose predicates depend on the event alone): the engine evaluates
   * the predicates of one text once per event. A predicate made otherwise has none and is called for every rule.
   */
  readonly source?: string;
}

interface RuleBase {
  name: string;
  kind: RuleKind;
  /** Event fields (dotted paths) whose values make the alert key; [] means one key for the whole stream. */
  by: string[];
  forMs: number;
  keepFiringForMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Line of the rule in its file (1-based), for messages at run time. */
  line: number;
  /** `event_types`: the rule sees only events of these types (all its expressions, `of` too); undefined: every event. */
  eventTypes?: string[];
}
export interface ThresholdRule extends RuleBase { kind: 'threshold'; match: Predicate; matchSource: string; windowMs: number; count: number }
export interface RatioRule extends RuleBase {
  kind: 'ratio'; match: Predicate; matchSource: string; of: Predicate; ofSource: string; above: number; minCount: number; windowMs: number;
}
export interface SequenceRule extends RuleBase {
  kind: 'sequence'; first: Predicate; firstSource: string; then: Predicate; thenSource: string; withinMs: number; absent: boolean;
}
export interface AbsenceRule extends RuleBase { kind: 'absence'; match: Predicate; matchSource: string; windowMs: number }
export interface DeprecatedSchemaRule extends RuleBase {
  kind: 'deprecated_schema'; versions: string[]; match: Predicate | undefined; matchSource: string | undefined; windowMs: number; count: number;
}
export type AlertRule = ThresholdRule | RatioRule | SequenceRule | AbsenceRule | DeprecatedSchemaRule;

export interface RuleProblem {
  code: OnexCode;
  file: string;
  line: number;
  /** `rules[0].window`; '' for the file as a whole. */
  field: string;
  message: string;
}

export interface RuleSet {
  file: string;
  rules: AlertRule[];
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `60s`, `5m`, `500ms`, `1h`, `2d` (or a bare number of seconds) in milliseconds; undefined if it is neither. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v !== 'string') return undefined;
  const m = DURATION.exec(v.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined;
}

const duration = z.union([z.string(), z.number()]).refine((v) => parseDuration(v) !== undefined, {
  message: 'expected a duration such as 30s, 5m, 500ms or 1h',
});
const cel = z.string().min(1, 'expected a CEL expression');
const strMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));
const common = {
  name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'expected a name of letters, digits, _ . : -'),
  by: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'expected an event field such as node_id')).default([]),
  for: duration.default('0s'),
  keep_firing_for: duration.default('0s'),
  labels: strMap.default({}),
  annotations: strMap.default({}),
  event_types: z.array(z.string().min(1, 'expected an event type such as NODE_FAILURE')).min(1, 'expected at least one event type').optional(),
};
const positiveInt = z.number().int().positive();
const ruleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...common, kind: z.literal('threshold'), match: cel, window: duration, count: positiveInt }),
  z.strictObject({
    ...common, kind: z.literal('ratio'), match: cel, of: cel, above: z.number().min(0).max(1), min_count: positiveInt.default(1), window: duration,
  }),
  z.strictObject({ ...common, kind: z.literal('sequence'), first: cel, then: cel, within: duration, absent: z.boolean().default(false) }),
  z.strictObject({ ...common, kind: z.literal('absence'), match: cel, window: duration }),
  z.strictObject({
    ...common,
    kind: z.literal('deprecated_schema'),
    versions: z.array(z.string().regex(/^\d+\.\d+\.\d+$/, 'expected a schema version such as 1.0.0')).min(1),
    match: cel.optional(),
    window: duration,
    count: positiveInt.default(1),
  }),
], { error: (iss) => (iss.code === 'invalid_union' ? 'kind must be one of threshold, ratio, sequence, absence, deprecated_schema' : undefined) });
const fileSchema = z.strictObject({ rules: z.array(z.unknown()).min(1, 'expected at least one rule') });

type ParsedRule = z.infer<typeof ruleSchema>;

const CEL_FIELDS = ['match', 'of', 'first', 'then'] as const;

function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

class Locator {
  constructor(private readonly doc: Document, private readonly lines: LineCounter) {}
  /** Line of the node at path, else of its nearest ancestor that exists (a missing field is reported on its rule). */
  line(path: readonly PropertyKey[]): number {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return 1;
  }
}

function compile(source: string): { fn: Predicate } | { error: string } {
  try {
    const expr = parseCel(source);
    // cel-js throws on an evaluation error (a missing field, a method on null): that is no match for this rule,
    // not a failed record that would keep the event from every other rule.
    const unfiltered = (event: Record<string, unknown>) => {
      try {
        return expr({ event }) === true;
      } catch {
        return false;
      }
    };
    const { types, guard, exact } = preFilterOf(expr.ast);
    const fn = guard ? (exact ? guard : (event: Record<string, unknown>) => guard(event) && unfiltered(event)) : unfiltered;
    return { fn: Object.assign(fn, { unfiltered, source, ...(types ? { eventTypes: types } : {}) }) };
  } catch (e) {
    // cel-js puts the offending position on err.node.pos (0-based, in the expression).
    const err = e as Error & { node?: { pos?: number } };
    const first = err.message.split('\n')[0] ?? 'does not parse';
    const pos = err.node?.pos;
    return { error: pos === undefined ? first : `${first} at character ${pos + 1} of ${JSON.stringify(source)}` };
  }
}

const TEMPLATE = /\{\{\s*([^}]*?)\s*\}\}/g;

/** The names a rule's templates may use: `$key.<by field>`, `$count`, `$value`, `$rule`, `$labels.<label>`. */
function templateProblem(text: string, rule: ParsedRule): string | undefined {
  for (const m of text.matchAll(TEMPLATE)) {
    const ref = m[1] ?? '';
    if (ref === '$count' || ref === '$value' || ref === '$rule' || ref === '$key') continue;
    if (ref.startsWith('$key.') && rule.by.includes(ref.slice(5))) continue;
    if (ref.startsWith('$labels.') && ref.slice(8) in rule.labels) continue;
    return `{{ ${ref} }} is not one of $count, $value, $rule, $key, ${rule.by.map((b) => `$key.${b}`).concat(Object.keys(rule.labels).map((l) => `$labels.${l}`)).join(', ') || '(no $key fields: the rule has no by)'}`;
  }
  return undefined;
}

/** Fills `{{ $key.x }}`, `{{ $count }}`, ... with the alert's values (an unknown name is left as written). */
export function renderTemplate(text: string, values: { rule: string; key: Record<string, string>; count: number; value?: number; labels: Record<string, string> }): string {
  return text.replace(TEMPLATE, (whole, ref: string) => {
    if (ref === '$count') return String(values.count);
    if (ref === '$value') return String(values.value ?? values.count);
    if (ref === '$rule') return values.rule;
    if (ref === '$key') return Object.values(values.key).join(',');
    if (ref.startsWith('$key.')) return values.key[ref.slice(5)] ?? '';
    if (ref.startsWith('$labels.')) return values.labels[ref.slice(8)] ?? '';
    return whole;
  });
}

/** Checks a rule file's text and reports every mistake; `rules` holds the rules that compiled. */
export function checkRules(text: string, file = 'rules.yaml'): { rules: AlertRule[]; problems: RuleProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: RuleProblem[] = [];
  const add = (code: OnexCode, line: number, field: string, message: string) => problems.push({ code, file, line, field, message });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) add('ONEX_VALID_120', e.linePos?.[0].line ?? 1, '', e.message.split('\n')[0] ?? 'not YAML');
    return { rules: [], problems };
  }
  // Errors the parser leaves for conversion: an alias to an anchor that is not set (yet), or too many aliases
  // (an alias bomb); both are a file that is not usable YAML, not a crash.
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    add('ONEX_VALID_120', 1, '', (e as Error).message.split('\n')[0] ?? 'not YAML');
    return { rules: [], problems };
  }
  const at = new Locator(doc, lines);
  const top = fileSchema.safeParse(value);
  if (!top.success) {
    for (const i of top.error.issues) add('ONEX_VALID_110', at.line(i.path), fieldName(i.path), i.message);
    return { rules: [], problems };
  }
  const rules: AlertRule[] = [];
  const seen = new Map<string, number>();
  top.data.rules.forEach((raw, index) => {
    const base = ['rules', index];
    const name = raw && typeof raw === 'object' ? (raw as Record<string, unknown>).name : undefined;
    let ok = true;
    if (typeof name === 'string') {
      if (seen.has(name)) {
        add('ONEX_VALID_122', at.line([...base, 'name']), fieldName([...base, 'name']), `rule name ${name} is already used by the rule on line ${seen.get(name)}`);
        ok = false;
      } else seen.set(name, at.line(base));
    }
    const parsed = ruleSchema.safeParse(raw);
    if (!parsed.success) {
      for (const i of parsed.error.issues) {
        const path = [...base, ...i.path, ...(i.code === 'unrecognized_keys' ? [i.keys[0] as string] : [])];
        const msg = i.code === 'unrecognized_keys' ? `unknown field ${i.keys.join(', ')}` : i.code === 'invalid_type' && i.input === undefined ? 'required' : i.message;
        add('ONEX_VALID_110', at.line(path), fieldName(path), msg);
      }
      // The CEL fields are still compiled so one check lists those mistakes too.
      if (raw && typeof raw === 'object') {
        for (const f of CEL_FIELDS) {
          const src = (raw as Record<string, unknown>)[f];
          if (typeof src !== 'string') continue;
          const c = compile(src);
          if ('error' in c) add('ONEX_VALID_111', at.line([...base, f]), fieldName([...base, f]), c.error);
        }
      }
      return;
    }
    const r = parsed.data;
    const ruleLine = at.line(base);
    const fns: Partial<Record<(typeof CEL_FIELDS)[number], Predicate>> = {};
    for (const f of CEL_FIELDS) {
      const src = (r as Record<string, unknown>)[f];
      if (typeof src !== 'string') continue;
      const c = compile(src);
      if ('error' in c) {
        add('ONEX_VALID_111', at.line([...base, f]), fieldName([...base, f]), c.error);
        ok = false;
      } else fns[f] = c.fn;
    }
    for (const group of ['labels', 'annotations'] as const) {
      for (const [k, v] of Object.entries(r[group])) {
        const p = templateProblem(v, r);
        if (p) {
          add('ONEX_VALID_121', at.line([...base, group, k]), fieldName([...base, group, k]), p);
          ok = false;
        }
      }
    }
    if (!ok) return;
    const baseRule = {
      name: r.name, by: r.by, forMs: parseDuration(r.for)!, keepFiringForMs: parseDuration(r.keep_firing_for)!, labels: r.labels, annotations: r.annotations, line: ruleLine,
      ...(r.event_types ? { eventTypes: r.event_types } : {}),
    };
    switch (r.kind) {
      case 'threshold':
        rules.push({ ...baseRule, kind: r.kind, match: fns.match!, matchSource: r.match, windowMs: parseDuration(r.window)!, count: r.count });
        break;
      case 'ratio':
        rules.push({
          ...baseRule, kind: r.kind, match: fns.match!, matchSource: r.match, of: fns.of!, ofSource: r.of, above: r.above, minCount: r.min_count, windowMs: parseDuration(r.window)!,
        });
        break;
      case 'sequence':
        rules.push({ ...baseRule, kind: r.kind, first: fns.first!, firstSource: r.first, then: fns.then!, thenSource: r.then, withinMs: parseDuration(r.within)!, absent: r.absent });
        break;
      case 'absence':
        rules.push({ ...baseRule, kind: r.kind, match: fns.match!, matchSource: r.match, windowMs: parseDuration(r.window)! });
        break;
      case 'deprecated_schema':
        rules.push({
          ...baseRule, kind: r.kind, versions: r.versions, match: fns.match, matchSource: r.match, windowMs: parseDuration(r.window)!, count: r.count,
        });
        break;
    }
  });
  return { rules, problems };
}

/** `ONEX_VALID_110: rules.yaml:12 rules[0].window: expected a duration such as 30s, 5m, 500ms or 1h` */
export function formatProblem(p: RuleProblem): string {
  return `${p.code}: ${p.file}:${p.line}${p.field ? ` ${p.field}` : ''}: ${p.message}`;
}

/** Loads rules from text; throws the first problem as an OnexError (all of them in details.problems). */
export function loadRules(text: string, file = 'rules.yaml'): RuleSet {
  const { rules, problems } = checkRules(text, file);
  if (problems.length > 0) throw problemsError(problems);
  return { file, rules };
}

export function problemsError(problems: RuleProblem[]): OnexError {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return onexError(first.code, `${first.file}:${first.line}${first.field ? ` ${first.field}` : ''}: ${first.message}${more}`, { details: { problems } });
}

/** Reads and loads a rule file; a file that cannot be read is ONEX_CLI_303. */
export function loadRuleFile(path: string): RuleSet {
  return loadRules(readRuleFile(path), path);
}

export function readRuleFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw onexError('ONEX_CLI_303', `cannot read rule file ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export const RULE_KINDS: readonly RuleKind[] = ['threshold', 'ratio', 'sequence', 'absence', 'deprecated_schema'];
