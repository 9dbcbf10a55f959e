import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePrometheus, type PrometheusTools } from '../../support/prometheus.js';

const DIR = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));
interface ScrapeConfig { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[] }
interface PromConfig { global: Record<string, unknown>; rule_files: string[]; scrape_configs: ScrapeConfig[] }
const configText = readFileSync(join(DIR, 'prometheus.yml'), 'utf8');
const config = parse(configText) as PromConfig;

/** Every job name rules.yml selects on: job="a" and the alternatives of job=~"a|b". */
function jobsInRules(): Set<string> {
  const jobs = new Set<string>();
  for (const m of readFileSync(join(DIR, 'rules.yml'), 'utf8').matchAll(/job\s*(=~?)\s*"([^"]+)"/g)) {
    for (const name of m[1] === '=~' ? m[2]!.split('|') : [m[2]!]) jobs.add(name);
  }
  return jobs;
}

describe('deploy/prometheus/prometheus.yml', () => {
  let tools: PrometheusTools;
  const scratch = mkdtempSync(join(tmpdir(), 'onex-prom-config-test-'));
  beforeAll(() => void (tools = ensurePrometheus()));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const check = (cwd: string) => {
    const r = spawnSync(tools.promtool, ['check', 'config', 'prometheus.yml'], { cwd, encoding: 'utf8' });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };

  it('is valid for Prometheus and its rule file loads (promtool check config)', () => {
    const r = check(DIR);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS: 1 rule files found');
    expect(r.out).toContain('is valid prometheus config file syntax');
  });

  it('promtool check config catches a broken copy: two jobs of the same name', () => {
    copyFileSync(join(DIR, 'rules.yml'), join(scratch, 'rules.yml'));
    const broken = parse(configText) as PromConfig;
    broken.scrape_configs.push({ ...broken.scrape_configs[0]!, static_configs: [{ targets: ['other:9464'] }] });
    writeFileSync(join(scratch, 'prometheus.yml'), stringify(broken));
    const r = check(scratch);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/multiple scrape configs with job name "onex-worker"/);
  });

  it('scrapes exactly the jobs the rules expect, each on /metrics, and loads rules.yml', () => {
    const jobs = config.scrape_configs.map((s) => s.job_name);
    expect(jobs).toEqual(['onex-worker', 'onex-producer', 'onex-registry', 'onex-processor']);
    expect(new Set(jobs)).toEqual(jobsInRules());
    for (const s of config.scrape_configs) {
      expect(s.metrics_path ?? '/metrics').toBe('/metrics');
      expect(s.static_configs?.flatMap((c) => c.targets).length, s.job_name).toBeGreaterThan(0);
    }
    expect(config.rule_files).toEqual(['rules.yml']);
  });
});
