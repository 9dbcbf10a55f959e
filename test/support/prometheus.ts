import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { cacheDir } from '../../src/dev/index.js';

/**
 * Prometheus and promtool for the tests that prove the shipped rules and dashboards: `promtool check rules` and
 * `promtool test rules` on deploy/prometheus, and a real Prometheus server scraping `onex dev`.
 *
 * Both come from the Debian package `prometheus` (2.42 on bookworm), which the test setup installs when they are
 * missing: `apt-get update` once per machine (a marker in the onex cache says it ran), then
 * `apt-get install -y --no-install-recommends prometheus`. Already installed, nothing runs. Concurrent runs (the unit
 * and integration projects set up at once) take a lock file so only one runs apt. Debian's package would start a
 * system service on a machine with an init system; the tests never use it, they start their own server on free
 * ports of 127.0.0.1.
 */

export interface PrometheusTools {
  readonly prometheus: string;
  readonly promtool: string;
  /** `prometheus --version`'s first line, e.g. "prometheus, version 2.42.0+ds (branch: debian/sid, ...)". */
  readonly version: string;
}

function onPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function found(): PrometheusTools | undefined {
  const prometheus = onPath('prometheus');
  const promtool = onPath('promtool');
  if (!prometheus || !promtool) return undefined;
  const v = spawnSync(prometheus, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) return undefined;
  return { prometheus, promtool, version: `${v.stdout}${v.stderr}`.trim().split('\n')[0]! };
}

/**
 * The paths of prometheus and promtool, installing Debian's package first when they are missing. Throws with what
 * to do when that is not possible here (no apt-get, not root).
 */
export function ensurePrometheus(say: (line: string) => void = () => undefined): PrometheusTools {
  const have = found();
  if (have) return have;
  if (!onPath('apt-get')) throw new Error('prometheus and promtool are not installed and apt-get is not here: install Prometheus 2.42 or newer so both are on PATH');
  const root = process.getuid?.() === 0;
  const sudo = !root && spawnSync('sudo', ['-n', 'true']).status === 0;
  if (!root && !sudo) throw new Error('prometheus and promtool are not installed and installing them needs root: run `sudo apt-get install -y prometheus`');

  mkdirSync(cacheDir(), { recursive: true });
  const marker = join(cacheDir(), 'apt-updated');
  const lock = join(cacheDir(), 'prometheus-install.lock');
  // The shell re-checks under the lock: a run that waited for another's install finds promtool there and does nothing.
  const script = [
    'set -e',
    'command -v promtool >/dev/null && command -v prometheus >/dev/null && exit 0',
    `[ -e '${marker}' ] || { apt-get update -q; touch '${marker}'; }`,
    'get_prometheus() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus; }',
    // Package lists from an old update may name a version the mirror no longer has: update again once, then retry.
    "get_prometheus || { apt-get update -q && get_prometheus; }",
  ].join('\n');
  const shell = ['sh', '-c', script];
  const argv = onPath('flock') ? ['flock', lock, ...shell] : shell;
  const command = sudo ? ['sudo', '-n', ...argv] : argv;
  say('prometheus/promtool missing: installing the Debian package prometheus (once per machine)');
  const t0 = Date.now();
  const r = spawnSync(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH ?? ''}${delimiter}/usr/sbin${delimiter}/usr/bin` } });
  if (r.status !== 0) {
    throw new Error(`installing the Debian package prometheus failed (exit ${r.status}): ${`${r.stdout}\n${r.stderr}`.trim().slice(-1500)}`);
  }
  const now = found();
  if (!now) throw new Error('apt-get installed the package prometheus, but prometheus or promtool is still not on PATH');
  writeFileSync(join(cacheDir(), 'prometheus-installed.txt'), `${now.version}\n`);
  say(`installed ${now.version} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return now;
}
