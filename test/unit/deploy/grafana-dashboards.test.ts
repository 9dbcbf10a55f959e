import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportedSeriesNames, PROMETHEUS_SERIES } from '../../support/exported-metrics.js';
import { allPanels, dashboardQueries, expandGrafanaVariables, GRAFANA_DIR, loadDashboards, type Datasource } from '../../support/grafana.js';
import { promqlNames } from '../../support/promql.js';
import { PROMETHEUS_DIR } from '../../support/prometheus-server.js';

const dashboards = loadDashboards();
const datasources = (parse(readFileSync(join(GRAFANA_DIR, 'provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: Array<{ uid: string; type: string; url: string }> }).datasources;
const providers = (parse(readFileSync(join(GRAFANA_DIR, 'provisioning/dashboards/onex.yml'), 'utf8')) as { providers: Array<{ type: string; options: { path: string } }> }).providers;
const recorded = new Set(
  (parse(readFileSync(join(PROMETHEUS_DIR, 'rules.yml'), 'utf8')) as { groups: { rules: { record?: string }[] }[] }).groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))),
);
const TEMPLATED: Datasource = { type: 'prometheus', uid: '${datasource}' };

/** What is wrong with one dashboard expression: syntax errors and series names nothing exports. */
function problemsOf(expr: string, known: Set<string>): string[] {
  const { metrics, errors } = promqlNames(expandGrafanaVariables(expr, '1m'));
  return [...errors, ...metrics.filter((m) => !known.has(m)).map((m) => `${m} is not exported by the code, made by Prometheus or recorded by rules.yml`)];
}

describe('deploy/grafana dashboards', () => {
  let known: Set<string>;
  beforeAll(async () => void (known = new Set([...(await exportedSeriesNames()), ...PROMETHEUS_SERIES, ...recorded])));

  it('ships the overview, registry and processors dashboards, each under a unique uid named by its file', () => {
    expect(dashboards.map((d) => d.dashboard.uid)).toEqual(['onex-pipeline-overview', 'onex-processors', 'onex-registry']);
    for (const { file, dashboard } of dashboards) expect(file).toBe(`${dashboard.uid}.json`);
    expect(new Set(dashboards.map((d) => d.dashboard.title)).size).toBe(dashboards.length);
  });

  it('every panel and query uses the templated Prometheus datasource, whose default is the provisioned one', () => {
    expect(datasources).toHaveLength(1);
    const [ds] = datasources;
    expect(ds).toMatchObject({ type: 'prometheus', uid: 'onex-prometheus', url: 'http://prometheus:9090' });
    for (const { dashboard } of dashboards) {
      const vars = dashboard.templating.list.filter((v) => v.type === 'datasource');
      expect(vars, dashboard.uid).toEqual([expect.objectContaining({ name: 'datasource', query: 'prometheus', current: expect.objectContaining({ value: ds!.uid }) })]);
      for (const p of allPanels(dashboard).filter((p) => p.type !== 'row')) {
        expect(p.datasource, `${dashboard.uid} / ${p.title}`).toEqual(TEMPLATED);
        expect(p.targets?.length, `${dashboard.uid} / ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.datasource, `${dashboard.uid} / ${p.title} / ${t.refId}`).toEqual(TEMPLATED);
      }
      for (const a of dashboard.annotations?.list ?? []) expect(a.datasource).toEqual(TEMPLATED);
    }
    expect(providers).toEqual([expect.objectContaining({ type: 'file', options: expect.objectContaining({ path: '/var/lib/grafana/dashboards' }) })]);
  });

  it('panel ids and refIds are unique and panels fit the 24-column grid without overlapping', () => {
    for (const { dashboard } of dashboards) {
      const panels = allPanels(dashboard);
      expect(new Set(panels.map((p) => p.id)).size, dashboard.uid).toBe(panels.length);
      const cells = new Set<string>();
      for (const p of panels) {
        const { x, y, w, h } = p.gridPos;
        expect(x + w, `${dashboard.uid} / ${p.title}`).toBeLessThanOrEqual(24);
        for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${dashboard.uid} / ${p.title} overlaps at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
        const refIds = (p.targets ?? []).map((t) => t.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
    }
  });

  it('every PromQL expression parses and names only series the code exports, Prometheus makes or rules.yml records', () => {
    const queries = dashboards.flatMap((d) => dashboardQueries(d.dashboard));
    expect(queries.length).toBeGreaterThan(30);
    const problems = queries.flatMap((q) => problemsOf(q.expr, known).map((p) => `${q.dashboard} / ${q.panel} / ${q.refId}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('the check catches a broken expression, an unknown series and an unreplaced variable', () => {
    expect(problemsOf('sum by (event_type (rate(onex_events_emitted_total[$__rate_interval]))', known).join()).toMatch(/syntax error/);
    expect(problemsOf('rate(onex_events_emited_total[$__rate_interval])', known)).toEqual(['onex_events_emited_total is not exported by the code, made by Prometheus or recorded by rules.yml']);
    expect(() => problemsOf('rate(onex_events_emitted_total{job="$job"}[5m])', known)).toThrow(/unknown Grafana variable \$job/);
  });

  it('the overview covers what the issue asks for', () => {
    const overview = dashboards.find((d) => d.dashboard.uid === 'onex-pipeline-overview')!.dashboard;
    const text = dashboardQueries(overview).map((q) => q.expr).join('\n');
    for (const series of [
      'onex_events_emitted_total', // produced, by type and by schema_version
      'onex_worker_schema_version_total', // consumed by version, adoption
      'onex_worker_events_processed_total',
      'onex_worker_processing_seconds_bucket', // latency by version
      'onex_event_size_bytes_bucket',
      'onex_events_sampled_out_total',
      'onex_worker_dead_letters_total',
      'onex:worker_consumer_lag:sum',
      'ALERTS',
    ]) expect(text).toContain(series);
    expect(text).toMatch(/sum by \(schema_version\) \(rate\(onex_events_emitted_total/);
    expect(text).toMatch(/sum by \(code\) \(increase\(onex_worker_dead_letters_total/);
  });
});
