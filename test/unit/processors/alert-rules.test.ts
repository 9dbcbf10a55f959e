import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRules, formatProblem, loadRules, renderTemplate } from '../../../src/processors/alerting/index.js';
import { isOnexError } from '../../../src/errors/index.js';

const ISSUE_FILE = readFileSync(new URL('../../fixtures/alerts/rules.yaml', import.meta.url), 'utf8');

describe('alert rule files', () => {
  it('loads the rule file of the issue and means what it says', () => {
    const { rules } = loadRules(ISSUE_FILE, 'rules.yaml');
    expect(rules.map((r) => [r.name, r.kind])).toEqual([
      ['failure-burst', 'threshold'], ['start-without-end', 'sequence'], ['node-silent', 'absence'], ['error-ratio', 'ratio'], ['old-schema', 'deprecated_schema'],
    ]);
    const [burst, seq, silent, ratio, old] = rules;
    expect(burst).toMatchObject({ by: ['node_id'], windowMs: 60_000, count: 5, forMs: 0, keepFiringForMs: 30_000, labels: { severity: 'page' } });
    expect(burst?.kind === 'threshold' && burst.match({ event_type: 'NODE_FAILURE' })).toBe(true);
    expect(burst?.kind === 'threshold' && burst.match({ event_type: 'NODE_START' })).toBe(false);
    expect(seq).toMatchObject({ withinMs: 30_000, absent: true, by: ['correlation_id'] });
    expect(seq?.kind === 'sequence' && seq.then({ event_type: 'NODE_FAILURE' })).toBe(true);
    expect(silent).toMatchObject({ windowMs: 120_000 });
    expect(ratio).toMatchObject({ above: 0.2, minCount: 20, windowMs: 300_000 });
    expect(ratio?.kind === 'ratio' && ratio.of({ event_type: 'TELEMETRY_OPERATION_END' })).toBe(true);
    expect(old).toMatchObject({ versions: ['1.0.0', '1.1.0'], windowMs: 600_000, count: 1, by: [] });
  });

  it('reports every mistake with its code, line and field', () => {
    const text = [
      'rules:',
      '  - name: a',
      '    kind: threshold',
      "    match: 'event.event_type == \"X\" &&'",
      '    by: [node_id]',
      '    window: 60x',
      '    count: 5',
      "    annotations: { summary: '{{ $key.host }} {{ $count }}' }",
      '  - name: a',
      '    kind: absence',
      "    match: 'true'",
      '    window: 1m',
      '    colour: red',
      '  - name: b',
      '    kind: ratioo',
      '  - name: a',
      '    kind: absence',
      "    match: 'true'",
      '    window: 1m',
    ].join('\n');
    const lines = checkRules(text, 'r.yaml').problems.map(formatProblem);
    expect(lines).toEqual([
      'ONEX_VALID_110: r.yaml:6 rules[0].window: expected a duration such as 30s, 5m, 500ms or 1h',
      'ONEX_VALID_111: r.yaml:4 rules[0].match: Unexpected token: EOF at character 27 of "event.event_type == \\"X\\" &&"',
      'ONEX_VALID_122: r.yaml:9 rules[1].name: rule name a is already used by the rule on line 2',
      'ONEX_VALID_110: r.yaml:13 rules[1].colour: unknown field colour',
      'ONEX_VALID_110: r.yaml:15 rules[2].kind: kind must be one of threshold, ratio, sequence, absence, deprecated_schema',
      'ONEX_VALID_122: r.yaml:16 rules[3].name: rule name a is already used by the rule on line 2',
    ]);
  });

  it('locates a bad template, a missing field and a file that is not YAML', () => {
    const tmpl = checkRules("rules:\n  - name: t\n    kind: absence\n    match: 'true'\n    window: 1m\n    by: [node_id]\n    annotations:\n      summary: '{{ $key.host }}'\n");
    expect(tmpl.problems.map(formatProblem)).toEqual([
      'ONEX_VALID_121: rules.yaml:8 rules[0].annotations.summary: {{ $key.host }} is not one of $count, $value, $rule, $key, $key.node_id',
    ]);
    const missing = checkRules("rules:\n  - name: t\n    kind: threshold\n    match: 'true'\n    window: 1m\n");
    expect(missing.problems.map(formatProblem)).toEqual(['ONEX_VALID_110: rules.yaml:2 rules[0].count: required']);
    const notYaml = checkRules('rules: [\n  - a\n');
    expect(notYaml.problems[0]?.code).toBe('ONEX_VALID_120');
    // Found by the rule-loader fuzzer: an alias to an anchor that is not set threw a ReferenceError out of the loader.
    const alias = checkRules('rules: *nowhere\n');
    expect(alias.rules).toEqual([]);
    expect(alias.problems.map((p) => p.code)).toEqual(['ONEX_VALID_120']);
    expect(alias.problems[0]!.message).toMatch(/alias/i);
    try {
      loadRules('rules: []', 'x.yaml');
      expect.unreachable();
    } catch (e) {
      expect(isOnexError(e) && `${e.code}: ${e.message}`).toBe('ONEX_VALID_110: x.yaml:1 rules: expected at least one rule');
    }
  });

  it('renders templates from the alert', () => {
    expect(renderTemplate('{{ $key.node_id }} failed {{ $count }} times ({{$labels.severity}})', {
      rule: 'r', key: { node_id: 'n1' }, count: 5, labels: { severity: 'page' },
    })).toBe('n1 failed 5 times (page)');
  });
});
