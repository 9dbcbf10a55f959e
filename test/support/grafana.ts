import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shipped Grafana dashboards (deploy/grafana/dashboards/*.json) as the tests read them: every panel, rows'
 * nested panels included, and every PromQL expression of their targets and annotations. No Grafana runs here (it is
 * not among Debian's packages), so the tests check the JSON and send the expressions to a real Prometheus.
 */

export const GRAFANA_DIR = fileURLToPath(new URL('../../deploy/grafana/', import.meta.url));

export interface Datasource { type?: string; uid?: string }
export interface Target { refId: string; expr: string; datasource?: Datasource; legendFormat?: string }
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: Datasource;
  targets?: Target[];
  panels?: Panel[];
  gridPos: { h: number; w: number; x: number; y: number };
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string; current?: { value?: string } }> };
  annotations?: { list: Array<{ name: string; expr?: string; datasource?: Datasource }> };
}

export interface DashboardQuery {
  dashboard: string;
  /** Panel title, or `annotation: <name>`. */
  panel: string;
  refId: string;
  expr: string;
}

export function loadDashboards(): Array<{ file: string; dashboard: Dashboard }> {
  const dir = join(GRAFANA_DIR, 'dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard }));
}

/** Every panel of a dashboard, the panels of collapsed rows included, rows themselves too. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function dashboardQueries(d: Dashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const p of allPanels(d)) for (const t of p.targets ?? []) out.push({ dashboard: d.uid, panel: p.title, refId: t.refId, expr: t.expr });
  for (const a of d.annotations?.list ?? []) if (a.expr) out.push({ dashboard: d.uid, panel: `annotation: ${a.name}`, refId: 'annotation', expr: a.expr });
  return out;
}

/**
 * The expression Grafana sends to Prometheus: its interval variables replaced by `interval` (a PromQL duration).
 * Any other variable is an error, since it would reach Prometheus unreplaced.
 */
export function expandGrafanaVariables(expr: string, interval: string): string {
  const out = expr.replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, interval);
  const left = /\$\{?\w+\}?/.exec(out);
  if (left) throw new Error(`unknown Grafana variable ${left[0]} in ${expr}`);
  return out;
}
