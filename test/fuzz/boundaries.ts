/**
 * Property-based fuzzing (fast-check) of two more input boundaries: the schema registry's REST API and the alert
 * rule loader. Like test/fuzz/properties.ts, these run briefly in the unit suite and long in `npm run fuzz`.
 *
 * The contracts under test:
 * - registry: whatever method, path, query, headers and body a client sends, the answer is never a 5xx, an error
 *   answer carries Confluent's error body ({ error_code: number, message: string }), and the server keeps serving;
 * - rule loader: whatever text a rule file holds, checkRules gives rules or located problems with ONEX codes, and
 *   loadRules throws an OnexError exactly when there are problems; never another exception.
 */
import fc from 'fast-check';
import { parse as parseYaml, stringify } from 'yaml';
import { isOnexError } from '../../src/errors/index.js';
import { checkRules, loadRules } from '../../src/processors/alerting/rules.js';
import type { memoryRegistry } from '../unit/registry/helpers.js';

const ONEX_CODE = /^ONEX_[A-Z]+_\d{3}$/;

type Registry = Awaited<ReturnType<typeof memoryRegistry>>;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS'] as const;
/** Path segments the API knows, ones near them, and ones that break parsers (percent-encoding, dots, huge numbers). */
const SEGMENTS = [
  'subjects', 'versions', 'schemas', 'ids', 'config', 'mode', 'compatibility', 'latest', 'referencedby', 'types',
  'contexts', 'schema', 's', 'onex.events-value', '1', '0', '-1', '2147483648', '99999999999999999999', '1.5', '',
  '%ff', '%2e%2e', '..', '%00', '%', '%E2%82', 'a%2Fb', '__proto__', 'constructor',
];
const QUERY_KEYS = ['normalize', 'deleted', 'permanent', 'force', 'subject', 'format', 'defaultToGlobal', 'verbose', 'fetchMaxId', 'subjectPrefix'];
const CONTENT_TYPES = [
  undefined, 'application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json', 'application/json',
  'application/octet-stream', 'text/plain', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', '',
];
const BODY_KEYS = ['schema', 'schemaType', 'references', 'compatibility', 'mode', 'type', 'name', 'fields', 'subject', 'version', 'metadata', 'ruleSet', '__proto__'];

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }).map((s) => s.replace(/[/?#\s]/g, '')) },
);
/** The routes the registry serves, with their parameters filled at random. */
const ROUTE_TEMPLATES = [
  '/subjects', '/subjects/{s}', '/subjects/{s}/versions', '/subjects/{s}/versions/{v}', '/subjects/{s}/versions/{v}/schema',
  '/subjects/{s}/versions/{v}/referencedby', '/schemas/ids/{v}', '/schemas/ids/{v}/schema', '/schemas/ids/{v}/versions',
  '/schemas/ids/{v}/subjects', '/schemas/types', '/compatibility/subjects/{s}/versions', '/compatibility/subjects/{s}/versions/{v}',
  '/config', '/config/{s}', '/mode', '/mode/{s}',
];
const routePath = fc.tuple(fc.constantFrom(...ROUTE_TEMPLATES), fc.oneof(fc.constant('s'), segment), fc.oneof(fc.constantFrom('1', 'latest', '-1', '2'), segment))
  .map(([template, subject, version]) => template.replace('{s}', subject).replace('{v}', version));
const path = fc.oneof(
  { weight: 3, arbitrary: routePath },
  { weight: 1, arbitrary: fc.array(segment, { minLength: 0, maxLength: 6 }).map((parts) => `/${parts.join('/')}`) },
);
const query = fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.oneof(fc.constantFrom('true', 'false', '', '-1', 'AVRO', 'resolved'), fc.string({ maxLength: 8 }))), { maxLength: 3 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`));
/** A schema-looking value: an Avro-ish object, its JSON text, or anything at all. */
const schemaish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 2 }),
    fc.dictionary(fc.constantFrom(...BODY_KEYS), tie('value'), { maxKeys: 4 }),
    fc.constantFrom('record', '"int"', '{"type":"record","name":"R","fields":[]}', 'AVRO', 'JSON', 'PROTOBUF', 'BACKWARD', 'NONE', 'READONLY'),
    tie('value').map((v) => JSON.stringify(v) ?? 'null'),
  ),
})).value;
const AVRO_TYPES = ['record', 'enum', 'array', 'map', 'fixed', 'int', 'long', 'string', 'bytes', 'null', 'union', 'R', ''];
/** An Avro-ish schema: mostly well-formed shapes with wrong or missing parts, so bodies reach the schema checks. */
const avroish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  schema: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...AVRO_TYPES),
    fc.record(
      {
        type: fc.constantFrom(...AVRO_TYPES),
        name: fc.constantFrom('R', 'a.b.R', '1bad', '', 'R'),
        fields: fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'a', '', '1'), type: tie('schema'), default: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['name'] }), { maxLength: 3 }),
        symbols: fc.array(fc.constantFrom('A', 'B', 'A', ''), { maxLength: 3 }),
        items: tie('schema'),
        values: tie('schema'),
        size: fc.integer({ min: -1, max: 20 }),
      },
      { requiredKeys: ['type'] },
    ),
    fc.array(tie('schema'), { maxLength: 3 }),
  ),
})).schema;
const registration = fc.record(
  {
    schema: fc.oneof(avroish.map((v) => JSON.stringify(v)), schemaish),
    schemaType: fc.constantFrom('AVRO', 'JSON', 'PROTOBUF', 'avro', ''),
    references: fc.array(fc.record({ name: fc.string({ maxLength: 5 }), subject: fc.constantFrom('s', 'missing', ''), version: fc.integer({ min: -1, max: 3 }) }), { maxLength: 2 }),
    compatibility: fc.constantFrom('BACKWARD', 'FORWARD_TRANSITIVE', 'FULL', 'NONE', 'backward', 'SIDEWAYS'),
    mode: fc.constantFrom('READWRITE', 'READONLY', 'IMPORT', 'WRONG'),
    version: fc.integer({ min: -1, max: 3 }),
    id: fc.integer({ min: -1, max: 3 }),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: registration.map((v) => JSON.stringify(v)) },
  { weight: 4, arbitrary: schemaish.map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom('{', '{"schema": "', '[', '{"schema":{}}', 'null', '""', '\u0000', '{"__proto__":{"polluted":1}}') },
);
const headers = fc.record(
  {
    'content-type': fc.oneof({ weight: 4, arbitrary: fc.constant('application/vnd.schemaregistry.v1+json') }, { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
    accept: fc.constantFrom('application/vnd.schemaregistry.v1+json', 'application/json', '*/*', 'text/html', ''),
    authorization: fc.oneof(fc.constant('Basic '), fc.string({ maxLength: 20 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`), fc.string({ maxLength: 20 })),
    'content-encoding': fc.constantFrom('gzip', 'identity', 'br'),
  },
  { requiredKeys: [] },
).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>);

export const registryRequest = fc.record({ method: fc.constantFrom(...METHODS), path, query, body, headers });

/** One random request: never a 5xx; an error answer has Confluent's body. */
export function registryRestProperty(reg: Registry) {
  return fc.asyncProperty(registryRequest, async ({ method, path: p, query: q, body: b, headers: h }) => {
    const url = p + q;
    const res = await reg.server.app.inject({ method, url, payload: method === 'GET' || method === 'HEAD' ? undefined : b, headers: h });
    const what = `${method} ${url} ${JSON.stringify(h)} body=${JSON.stringify(b)?.slice(0, 200)} -> ${res.statusCode} ${res.body.slice(0, 200)}`;
    if (res.statusCode >= 500) throw new Error(`server error: ${what}`);
    if (res.statusCode >= 400 && method !== 'HEAD') {
      let parsed: { error_code?: unknown; message?: unknown };
      try {
        parsed = JSON.parse(res.body) as typeof parsed;
      } catch {
        throw new Error(`error answer is not JSON: ${what}`);
      }
      if (typeof parsed.error_code !== 'number' || typeof parsed.message !== 'string') throw new Error(`error answer without Confluent's body: ${what}`);
    }
  });
}

const RULE_KEYS = ['name', 'kind', 'match', 'of', 'first', 'then', 'by', 'window', 'within', 'count', 'above', 'min_count', 'absent', 'versions', 'for', 'keep_firing_for', 'labels', 'annotations', 'actions', 'late', 'max_keys', 'ttl'];
const RULE_VALUES = [
  'threshold', 'ratio', 'sequence', 'absence', 'deprecated_schema', '30s', '5m', '0s', '-1s', '1h', '10x', '', 'node_id',
  'event.event_type == "NODE_FAILURE"', 'event.', 'event.metadata["x"] > 1', '"a" + 1', 'size(event.node_id) > 2', '1.0.0',
  '{{ $key.node_id }}', '{{', 0, -1, 1, 0.5, 2 ** 53, true, null, [], {}, ['node_id'], ['1.0.0', '9.9.9'],
];

/** A valid rule file with its rules' fields replaced, removed or added at random. */
function nearValidRules(valid: Record<string, unknown>[]) {
  const edit = fc.record({ rule: fc.nat(), key: fc.constantFrom(...RULE_KEYS), op: fc.constantFrom('replace', 'remove'), value: fc.oneof(fc.constantFrom(...RULE_VALUES), fc.jsonValue({ maxDepth: 2 })) });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    const rules = structuredClone(valid);
    for (const e of edits) {
      const rule = rules[e.rule % rules.length]!;
      if (e.op === 'remove') delete rule[e.key];
      else rule[e.key] = e.value;
    }
    return stringify({ rules });
  });
}

/** The loader answers any text with rules or located, coded problems; loadRules agrees with checkRules. */
function assertLoaderAnswers(text: string): void {
  let answer: ReturnType<typeof checkRules>;
  try {
    answer = checkRules(text, 'fuzz.yaml');
  } catch (e) {
    throw new Error(`checkRules threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message} for ${JSON.stringify(text).slice(0, 300)}`);
  }
  for (const p of answer.problems) {
    if (!ONEX_CODE.test(p.code) || !(p.line >= 1) || !p.message) throw new Error(`a problem without a code, a line or a message: ${JSON.stringify(p)}`);
  }
  if (answer.problems.length > 0 && answer.rules.length > 0 && answer.problems.some((p) => p.field === '')) {
    throw new Error(`a file-level problem with rules still loaded: ${JSON.stringify(answer.problems)}`);
  }
  let thrown: unknown;
  try {
    loadRules(text, 'fuzz.yaml');
  } catch (e) {
    thrown = e;
  }
  if (answer.problems.length === 0 && thrown !== undefined) throw new Error(`loadRules threw for a file checkRules passed: ${String(thrown)}`);
  if (answer.problems.length > 0 && !(isOnexError(thrown) && thrown.code === answer.problems[0]!.code)) {
    throw new Error(`loadRules did not throw the first problem (${answer.problems[0]!.code}); it gave ${String(thrown)}`);
  }
}

/** Any text, any YAML value, and valid rule files with fields changed. */
export function ruleLoaderProperty(validFile: string) {
  if (checkRules(validFile).problems.length > 0) throw new Error('the seed rule file does not load');
  // The seed file's rules as plain values (comments dropped): what the near-valid edits start from.
  const valid = (parseYaml(validFile) as { rules: Record<string, unknown>[] }).rules;
  const text = fc.oneof(
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => stringify(v)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => stringify({ rules: v })) },
    { weight: 4, arbitrary: nearValidRules(valid) },
  );
  return fc.property(text, assertLoaderAnswers);
}
