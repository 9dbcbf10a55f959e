import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { cacheDir } from '../../src/dev/index.js';

/**
 * A real headless browser for the page tests: Chromium from Debian's packages, driven by playwright-core (which
 * brings no browser of its own). Found, in order: ONEX_CHROMIUM, /usr/bin/chromium, `chromium` on PATH. When none is
 * there and this is a Debian-family machine where we may install (root, apt-get present), `apt-get install -y
 * chromium` runs once, waiting for another install's dpkg lock; the path found is remembered in
 * <cache>/chromium.json (keyed by the binary's size and mtime), so later runs skip the search and the version call.
 * Anything else fails loudly with what to install: a page test never skips.
 */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

interface Remembered {
  path: string;
  version: string;
  size: number;
  mtimeMs: number;
}

function remembered(): Remembered | undefined {
  try {
    const r = JSON.parse(readFileSync(join(cacheDir(), 'chromium.json'), 'utf8')) as Remembered;
    const s = statSync(r.path);
    return s.size === r.size && s.mtimeMs === r.mtimeMs ? r : undefined;
  } catch {
    return undefined;
  }
}

function locate(): string | undefined {
  const env = process.env.ONEX_CHROMIUM;
  if (env) {
    if (!existsSync(env)) throw new Error(`ONEX_CHROMIUM=${env} does not exist`);
    return env;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  const which = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

function install(say: (line: string) => void): void {
  const root = process.getuid?.() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!root || !apt) throw new Error('the page tests need Chromium: install Debian\'s chromium package (apt-get install -y chromium) or set ONEX_CHROMIUM to a Chromium binary');
  say('chromium not found: apt-get install -y chromium (once per machine)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) => spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 900_000 });
  let r = run(['install', '-y', '--no-install-recommends', 'chromium']);
  if (r.status !== 0) {
    // A fresh machine has no package lists yet.
    run(['update']);
    r = run(['install', '-y', '--no-install-recommends', 'chromium']);
  }
  if (r.status !== 0) throw new Error(`apt-get install chromium failed: ${r.stderr.trim().split('\n').pop()}`);
}

/** The path of a Chromium binary, installed first if need be. */
export function ensureChromium(say: (line: string) => void = () => undefined): string {
  const known = remembered();
  if (known && !process.env.ONEX_CHROMIUM) return known.path;
  let path = locate();
  if (!path) {
    install(say);
    path = locate();
    if (!path) throw new Error('apt-get installed chromium but no chromium binary was found on PATH');
  }
  const v = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (v.status !== 0) throw new Error(`${path} --version failed: ${v.stderr}`);
  const s = statSync(path);
  mkdirSync(cacheDir(), { recursive: true });
  writeFileSync(join(cacheDir(), 'chromium.json'), JSON.stringify({ path, version: v.stdout.trim(), size: s.size, mtimeMs: s.mtimeMs } satisfies Remembered));
  return path;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: ensureChromium((l) => process.stderr.write(`[browser] ${l}\n`)), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
