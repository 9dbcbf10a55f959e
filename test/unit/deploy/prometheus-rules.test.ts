import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportedSeriesNames, PROMETHEUS_SERIES } from '../../support/exported-metrics.js';
import { ensurePrometheus, type PrometheusTools } from '../../support/prometheus.js';
import { promqlNames } from '../../support/promql.js';

const DIR = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));
interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const rulesText = readFileSync(join(DIR, 'rules.yml'), 'utf8');
const rules = (parse(rulesText) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert);

function promtool(tools: PrometheusTools, args: string[], cwd = DIR) {
  const r = spawnSync(tools.promtool, args, { cwd, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('deploy/prometheus/rules.yml', () => {
  let tools: PrometheusTools;
  const scratch = mkdtempSync(join(tmpdir(), 'onex-rules-test-'));
  beforeAll(() => void (tools = ensurePrometheus()));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is valid for Prometheus (promtool check rules)', () => {
    const r = promtool(tools, ['check', 'rules', 'rules.yml']);
    expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.code, r.out).toBe(0);
  });

  it('passes its unit tests (promtool test rules rules.test.yml)', () => {
    const r = promtool(tools, ['test', 'rules', 'rules.test.yml']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('its unit tests catch a changed rule: a dead-letter alert that waits 10 minutes fails them', () => {
    copyFileSync(join(DIR, 'rules.test.yml'), join(scratch, 'rules.test.yml'));
    const doc = parse(rulesText) as { groups: { rules: Rule[] }[] };
    const dl = doc.groups.flatMap((g) => g.rules).find((r) => r.alert === 'OnexDeadLettersArriving')!;
    dl.for = '10m';
    writeFileSync(join(scratch, 'rules.yml'), stringify(doc));
    const r = promtool(tools, ['test', 'rules', 'rules.test.yml'], scratch);
    expect(r.code).toBe(1);
    expect(r.out).toContain('alertname: OnexDeadLettersArriving');
  });

  it('alerts on everything the operator must hear about', () => {
    const names = alerts.map((a) => a.alert).sort();
    expect(names).toEqual([
      'OnexConsumerLagGrowing',
      'OnexDeadLettersArriving',
      'OnexDeprecatedSchemaVersionInUse',
      'OnexProcessingLatencyHigh',
      'OnexProcessorAbsent',
      'OnexProcessorLagGrowing',
      'OnexProducerDeliveryFailures',
      'OnexRegistryAbsent',
      'OnexRegistryErrors',
      'OnexTargetDown',
      'OnexWorkerAbsent',
    ]);
  });

  it('every alert waits (for), has a severity, a summary and a description, and is tested in rules.test.yml', () => {
    const tests = readFileSync(join(DIR, 'rules.test.yml'), 'utf8');
    for (const a of alerts) {
      expect(a.for, a.alert).toMatch(/^\d+[smh]$/);
      expect(['info', 'warning', 'critical'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
      expect(tests, `${a.alert} has no case in rules.test.yml`).toContain(`alertname: ${a.alert}`);
    }
  });

  it('names only metrics the code exports, Prometheus makes, or the rules record', async () => {
    const known = new Set([...(await exportedSeriesNames()), ...PROMETHEUS_SERIES, ...rules.flatMap((r) => (r.record ? [r.record] : []))]);
    for (const r of rules) {
      const { metrics, errors } = promqlNames(r.expr);
      expect(errors, r.expr).toEqual([]);
      expect(metrics.length, r.expr).toBeGreaterThan(0);
      for (const m of metrics) expect(known.has(m), `${r.alert ?? r.record} names ${m}, which nothing exports`).toBe(true);
    }
  });
});
