import { parse } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import type { AnyOnexEvent } from '../../../src/event/index.js';
import { runLocally } from '../../../src/processors/index.js';
import { checkRules, createAlertEngine, loadRules, type AlertRule, type AlertTransition } from '../../../src/processors/alerting/index.js';
import { preFilterOf } from '../../../src/processors/alerting/prefilter.js';
import { generateEvent, pick, rng } from '../../fixtures/events/generate.js';

const typesOf = (src: string) => {
  const t = preFilterOf(parse(src).ast).types;
  return t ? [...t].sort() : undefined;
};

describe('rule pre-filters read off CEL', () => {
  it('takes the event types an expression can be true for, through && and ||, and nothing it cannot vouch for', () => {
    expect(typesOf('event.event_type == "A"')).toEqual(['A']);
    expect(typesOf('"A" == event.event_type')).toEqual(['A']);
    expect(typesOf('event.event_type in ["A", "B"]')).toEqual(['A', 'B']);
    expect(typesOf('event.event_type == "A" && event.node_id.startsWith("x")')).toEqual(['A']);
    expect(typesOf('event.node_id == "n" && event.event_type in ["A", "B"] && event.event_type == "B"')).toEqual(['B']);
    expect(typesOf('event.event_type == "A" || event.event_type in ["B", "C"]')).toEqual(['A', 'B', 'C']);
    // One side of || that says nothing of the type can match any type.
    expect(typesOf('event.event_type == "A" || event.node_id == "n"')).toBeUndefined();
    expect(typesOf('!(event.event_type == "A")')).toBeUndefined();
    expect(typesOf('event.event_type != "A"')).toBeUndefined();
    expect(typesOf('event.event_type in ["A", event.node_id]')).toBeUndefined();
    expect(typesOf('event.event_type.startsWith("TELEMETRY_")')).toBeUndefined();
    expect(typesOf('event.metadata.event_type == "A"')).toBeUndefined();
    expect(typesOf('true ? event.event_type == "A" : false')).toBeUndefined();
    expect(typesOf('true')).toBeUndefined();
    // Only comparisons, && and ||: the guard is the expression and CEL is skipped; anything else keeps CEL.
    const exact = (src: string) => preFilterOf(parse(src).ast).exact === true;
    expect(exact('event.event_type == "A" && (event.node_id.startsWith("x") || event.node_id in ["a", "b"])')).toBe(true);
    expect(exact('event.event_type == "A" && event.count > 3')).toBe(false);
    expect(exact('event.event_type == "A" || !(event.node_id == "x")')).toBe(false);
  });

  it('a guarded predicate is true for exactly the events its CEL program is true for', () => {
    const exprs = [
      'event.event_type == "NODE_FAILURE"',
      '"NODE_START" == event.event_type',
      'event.event_type in ["NODE_SUCCESS", "NODE_FAILURE"]',
      'event.event_type == "NODE_START" && event.node_id.startsWith("stamper")',
      'event.event_type.startsWith("TELEMETRY_OPERATION_")',
      'event.node_id.endsWith("1") || event.node_id.contains("tree")',
      'event.event_type == "NODE_FAILURE" || event.node_id == "n1"',
      '!(event.event_type == "NODE_FAILURE") && event.node_id.startsWith("n")',
      'event.event_type == "NODE_START" && event.correlation_id != ""',
      'event.metadata.severity == "error" || event.event_type == "A"',
      'event.node_id == 1 || event.event_type == "NODE_START"',
      'event.event_type == "X" && event.missing.startsWith("a")',
      'event.event_type == "X" || event.missing.startsWith("a")',
      'event.event_type == "A" ? event.node_id == "n1" : event.node_id == "n2"',
      'event.node_id in ["n1", "x"] || event.metadata.severity.startsWith("err")',
      '(event.node_id.contains("1") || event.node_id.endsWith("x")) && event.event_type in ["A", "NODE_START"]',
    ];
    const r = rng(13);
    const events: Array<Record<string, unknown>> = Array.from({ length: 300 }, () => {
      const e = generateEvent(r, '2.0.0', { targetBytes: 300 });
      return { ...e, node_id: pick(r, ['n1', 'n2', 'stamper-1', 'tree-2', 'x']) };
    });
    events.push(
      { event_type: 'A', node_id: 'n1' },
      { event_type: 'X', missing: 'abc' },
      { event_type: 'X', missing: 7 },
      { event_type: 1, node_id: 'n1' },
      { node_id: 'n1' },
      { event_type: 'NODE_START', node_id: 1 },
      { event_type: 'A', node_id: ['n1'] },
      { event_type: 'A', node_id: { n1: 'x' }, metadata: { severity: 5 } },
      { event_type: 'NODE_START', node_id: 'a1x', metadata: { severity: 'error' } },
      { event_type: 'A', metadata: new Map([['severity', 'error']]), node_id: 'n2' },
      { event_type: 'B', metadata: { severity: 'error' } },
      Object.assign(Object.create({ event_type: 'NODE_FAILURE' }) as Record<string, unknown>, { node_id: 'n1' }),
    );
    let skipped = 0;
    for (const src of exprs) {
      const { rules, problems } = checkRules(`rules:\n  - name: r\n    kind: threshold\n    match: '${src}'\n    window: 1s\n    count: 1\n`);
      expect(problems).toEqual([]);
      const match = (rules[0] as Extract<AlertRule, { kind: 'threshold' }>).match;
      const guard = preFilterOf(parse(src).ast).guard;
      for (const e of events) {
        expect(match(e), `${src} on ${JSON.stringify(e)}`).toBe(match.unfiltered(e));
        if (guard && !guard(e)) skipped++;
      }
    }
    // The guards do skip CEL for most events (else this test would prove nothing about them).
    expect(skipped).toBeGreaterThan(events.length * 5);
  });
});

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

function transitions(rules: AlertRule[], events: AnyOnexEvent[], prefilter: boolean, until: number): string[] {
  const seen: AlertTransition[] = [];
  runLocally(createAlertEngine(rules, { prefilter, onTransition: (t) => seen.push(t) }), events, { until });
  return seen.map((t) => `${t.rule} ${JSON.stringify(t.key)} ${t.state}@${t.at - T0} ${t.count} ${t.alertId}`);
}

describe('alert engine with pre-filters', () => {
  const RULES = `rules:
  - name: burst
    kind: threshold
    match: 'event.event_type == "NODE_FAILURE" && event.node_id.startsWith("n")'
    by: [node_id]
    window: 10s
    count: 3
  - name: ratio
    kind: ratio
    match: 'event.event_type == "TELEMETRY_OPERATION_ERROR"'
    of: 'event.event_type.startsWith("TELEMETRY_OPERATION_")'
    above: 0.3
    min_count: 5
    window: 20s
  - name: noend
    kind: sequence
    first: 'event.event_type == "NODE_START"'
    then: 'event.event_type in ["NODE_SUCCESS", "NODE_FAILURE"]'
    by: [correlation_id]
    within: 5s
    absent: true
  - name: silent
    kind: absence
    match: 'event.event_type == "NODE_ANNOUNCE" || event.event_type == "NODE_START"'
    by: [node_id]
    window: 15s
  - name: typed
    kind: threshold
    match: 'true'
    event_types: [NODE_ANNOUNCE]
    by: [node_id]
    window: 5s
    count: 2
  - name: old
    kind: deprecated_schema
    versions: ["1.0.0"]
    window: 10s
    count: 4
`;
  const TYPES = ['NODE_FAILURE', 'NODE_START', 'NODE_SUCCESS', 'NODE_ANNOUNCE', 'TELEMETRY_OPERATION_ERROR', 'TELEMETRY_OPERATION_SUCCESS', 'OTHER'];

  it('emits the same transitions with the pre-filters on and off', () => {
    const r = rng(5);
    const events = Array.from({ length: 2_000 }, (_, i) => ({
      event_type: pick(r, TYPES), node_id: pick(r, ['n1', 'n2', 'm1']), correlation_id: `c${Math.floor(i / 3)}`,
      timestamp: iso(T0 + i * 250), schema_version: pick(r, ['1.0.0', '2.0.0']),
    }) as unknown as AnyOnexEvent);
    const rules = loadRules(RULES).rules;
    const on = transitions(rules, events, true, T0 + 600_000);
    expect(on.length).toBeGreaterThan(100);
    for (const name of ['burst', 'ratio', 'noend', 'silent', 'typed', 'old']) expect(on.some((l) => l.startsWith(`${name} `))).toBe(true);
    expect(transitions(rules, events, false, T0 + 600_000)).toEqual(on);
  });

  it('event_types: the rule sees only those types, whatever its expressions say', () => {
    const rules = loadRules(RULES).rules.filter((x) => x.name === 'typed');
    const evs = [0, 1, 2].map((s) => ({ event_type: s === 1 ? 'NODE_START' : 'NODE_ANNOUNCE', node_id: 'n1', timestamp: iso(T0 + s * 1000) }) as unknown as AnyOnexEvent);
    for (const prefilter of [true, false]) {
      // NODE_START at 1 s does not count: the announce at 2 s makes the second; the one at 0 leaves at 5 s.
      expect(transitions(rules, evs, prefilter, T0 + 60_000).map((l) => l.split(' ')[2])).toEqual(['pending@2000', 'firing@2000', 'resolved@5000']);
    }
    const bad = checkRules("rules:\n  - name: t\n    kind: absence\n    match: 'true'\n    window: 1s\n    event_types: []\n");
    expect(bad.problems.map((p) => `${p.code} ${p.line} ${p.field}`)).toEqual(['ONEX_VALID_110 6 rules[0].event_types']);
  });

  it('an event meets only the rules of its event type: other rules\' predicates are not called', () => {
    const calls: string[] = [];
    const counted = (name: string, types: string[]) =>
      Object.assign((e: Record<string, unknown>) => (calls.push(`${name}:${String(e.event_type)}`), e.event_type === types[0]), {
        eventTypes: new Set(types), unfiltered: (e: Record<string, unknown>) => (calls.push(`${name}:${String(e.event_type)}`), e.event_type === types[0]),
      });
    const [a, b] = loadRules("rules:\n  - name: a\n    kind: threshold\n    match: 'true'\n    window: 1s\n    count: 1\n  - name: b\n    kind: absence\n    match: 'true'\n    window: 1s\n").rules as [AlertRule, AlertRule];
    const rules = [{ ...a, match: counted('a', ['A']) }, { ...b, match: counted('b', ['B', 'C']) }] as AlertRule[];
    const evs = ['A', 'B', 'C', 'D'].map((t, i) => ({ event_type: t, timestamp: iso(T0 + i) }) as unknown as AnyOnexEvent);
    runLocally(createAlertEngine(rules, { prefilter: true }), evs);
    expect(calls).toEqual(['a:A', 'b:B', 'b:C']);
    calls.length = 0;
    runLocally(createAlertEngine(rules, { prefilter: false }), evs);
    expect(calls).toEqual(['a:A', 'b:A', 'a:B', 'b:B', 'a:C', 'b:C', 'a:D', 'b:D']);
  });

  it('rules sharing an expression text evaluate it once per event, and each rule gets the transitions it gets alone', () => {
    const SHARED = `rules:
  - name: t
    kind: threshold
    match: 'event.node_id.startsWith("n")'
    by: [node_id]
    window: 10s
    count: 3
  - name: q
    kind: ratio
    match: 'event.event_type == "NODE_FAILURE"'
    of: 'event.node_id.startsWith("n")'
    above: 0.3
    min_count: 4
    window: 20s
    by: [node_id]
  - name: s
    kind: sequence
    first: 'event.event_type == "NODE_FAILURE"'
    then: 'event.node_id.startsWith("n")'
    within: 1s
    absent: true
  - name: d
    kind: deprecated_schema
    versions: ["1.0.0"]
    match: 'event.event_type == "NODE_FAILURE"'
    window: 10s
    count: 2
`;
    const r = rng(9);
    const events = Array.from({ length: 1_000 }, (_, i) => ({
      event_type: pick(r, ['NODE_FAILURE', 'NODE_START', 'OTHER']), node_id: pick(r, ['n1', 'n2', 'm1']), timestamp: iso(T0 + i * 300),
    }) as unknown as AnyOnexEvent);
    const rules = loadRules(SHARED).rules;
    for (const prefilter of [true, false]) {
      const all = transitions(rules, events, prefilter, T0 + 600_000);
      for (const rule of rules) {
        const alone = transitions([rule], events, prefilter, T0 + 600_000);
        expect(alone.length, rule.name).toBeGreaterThan(0);
        expect(all.filter((l) => l.startsWith(`${rule.name} `))).toEqual(alone);
      }
    }
    // Predicates of one source text: called once per event however many rules hold them; without a text, per rule.
    let calls = 0;
    const counted = (source?: string) =>
      Object.assign((e: Record<string, unknown>) => (calls++, e.event_type === 'A'), { unfiltered: (e: Record<string, unknown>) => (calls++, e.event_type === 'A'), ...(source ? { source } : {}) });
    const base = rules[0] as Extract<AlertRule, { kind: 'threshold' }>;
    const evs = ['A', 'B', 'A'].map((t, i) => ({ event_type: t, node_id: 'n1', timestamp: iso(T0 + i) }) as unknown as AnyOnexEvent);
    for (const prefilter of [true, false]) {
      calls = 0;
      runLocally(createAlertEngine([{ ...base, name: 'x', match: counted('same') }, { ...base, name: 'y', match: counted('same') }], { prefilter }), evs);
      expect(calls).toBe(3);
      calls = 0;
      runLocally(createAlertEngine([{ ...base, name: 'x', match: counted() }, { ...base, name: 'y', match: counted() }], { prefilter }), evs);
      expect(calls).toBe(6);
    }
  });

  it('an expression that fails on an event (a missing field) is no match for its rule, and the other rules still see the event', () => {
    const rules = loadRules("rules:\n  - name: bad\n    kind: threshold\n    match: 'event.nope == 1 || event.node_id.size() > 100'\n    window: 1s\n    count: 1\n  - name: good\n    kind: threshold\n    match: 'event.event_type == \"A\"'\n    window: 1s\n    count: 1\n").rules;
    const evs = [{ event_type: 'A', node_id: null, timestamp: iso(T0) }] as unknown as AnyOnexEvent[];
    for (const prefilter of [true, false]) expect(transitions(rules, evs, prefilter, T0 + 10_000).map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(['good {} pending@0', 'good {} firing@0', 'good {} resolved@1000']);
  });
});
