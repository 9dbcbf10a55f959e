import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { freePort } from '../../src/dev/index.js';
import { ensurePrometheus } from './prometheus.js';

/**
 * A real Prometheus server (the Debian package's, see prometheus.ts) running the shipped deploy/prometheus files:
 * prometheus.yml with its global intervals shortened and each job's targets replaced by the local ones a test runs,
 * and rules.yml unchanged. It listens on a free port of 127.0.0.1 with its TSDB in a scratch directory, removed on
 * stop(). Jobs the test gives no target keep their name and scrape nothing.
 */

export const PROMETHEUS_DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  readonly url: string;
  /** An instant query through /api/v1/query; throws with Prometheus's error text when the query is refused. */
  query(expr: string): Promise<PromSample[]>;
  /** /api/v1/targets' active targets: job, health and last error. */
  targets(): Promise<Array<{ job: string; health: string; lastError: string; scrapeUrl: string }>>;
  /** Queries until `done` accepts the result, or throws after timeoutMs naming the expression and the last result. */
  waitFor(expr: string, done: (samples: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  /** Prometheus's log so far (stderr), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

interface PromConfig {
  global: Record<string, unknown>;
  rule_files: string[];
  scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }> }>;
}

export async function startPrometheus(options: { targets: Record<string, string[]>; intervalSeconds?: number }): Promise<PrometheusServer> {
  const tools = ensurePrometheus();
  const dir = mkdtempSync(join(tmpdir(), 'onex-prometheus-'));
  const config = parse(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as PromConfig;
  const interval = `${options.intervalSeconds ?? 1}s`;
  config.global = { ...config.global, scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval };
  const known = new Set(config.scrape_configs.map((s) => s.job_name));
  for (const job of Object.keys(options.targets)) if (!known.has(job)) throw new Error(`deploy/prometheus/prometheus.yml has no job ${job}`);
  for (const s of config.scrape_configs) {
    const targets = options.targets[s.job_name] ?? [];
    if (targets.length) s.static_configs = [{ targets }];
    else delete s.static_configs;
  }
  for (const file of config.rule_files) copyFileSync(join(PROMETHEUS_DIR, file), join(dir, file));
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  mkdirSync(join(dir, 'data'));

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    tools.prometheus,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${decodeURIComponent(path)}: ${body.error}`);
    return body.data;
  };
  const query = async (expr: string) => (await api<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${stderr.slice(-1500)}`);
    }
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus at ${url} was not ready within 20 s: ${stderr.slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    query,
    targets: async () =>
      (await api<{ activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }> }>('/api/v1/targets')).activeTargets.map((t) => ({
        job: t.labels.job!,
        health: t.health,
        lastError: t.lastError,
        scrapeUrl: t.scrapeUrl,
      })),
    async waitFor(expr, done, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      let last: PromSample[] = [];
      for (;;) {
        last = await query(expr);
        if (done(last)) return last;
        if (Date.now() > until) throw new Error(`${expr} did not give the expected result within ${timeoutMs} ms; last: ${JSON.stringify(last).slice(0, 1500)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    log: () => stderr,
    stop,
  };
}
