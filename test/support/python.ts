import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A Python virtual environment in .venv under the repository (gitignored) with the PyPI packages the tests use:
 * Confluent's Python client (the registry compatibility test) and kubernetes-validate (the manifest test). Made
 * once and kept between runs: a marker file per requirement names what was installed, and a lock directory keeps
 * two test files of one run from installing at the same time.
 */

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const VENV = join(REPO, '.venv');
/** The Python client with its schema-registry and Avro extras. */
const CONFLUENT_KAFKA = 'confluent-kafka[avro,schemaregistry]==2.15.1';
const LOCK = join(VENV, '.install.lock');

export function venvPython(): string {
  return join(VENV, 'bin', 'python');
}

function findPython(): string {
  for (const candidate of [process.env.ONEX_PYTHON, 'python3', 'python'].filter(Boolean) as string[]) {
    const r = spawnSync(candidate, ['-c', 'import sys, venv; print(sys.version_info >= (3, 8))'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === 'True') return candidate;
  }
  throw new Error('no Python 3.8+ with the venv module found (set ONEX_PYTHON to one)');
}

async function withLock<T>(fn: () => T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  mkdirSync(VENV, { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock left by a run that was killed mid-install: nothing installs for this long.
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 20 * 60_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}; remove it if no install is running`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Returns the venv's python, creating the venv and installing `requirement` (pinned, pip syntax) the first time. */
export async function ensureVenvRequirement(requirement: string): Promise<string> {
  const marker = join(VENV, `.onex-installed-${requirement.replace(/[^A-Za-z0-9.=-]+/g, '_')}`);
  if (existsSync(marker)) return venvPython();
  return withLock(() => {
    if (existsSync(marker)) return venvPython();
    if (!existsSync(venvPython())) execFileSync(findPython(), ['-m', 'venv', VENV], { stdio: 'inherit' });
    execFileSync(venvPython(), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', requirement], {
      stdio: 'inherit',
      timeout: 900_000,
    });
    writeFileSync(marker, `${new Date().toISOString()}\n`);
    return venvPython();
  }, 900_000);
}

/** Returns the venv's python, creating the venv and installing confluent-kafka the first time. */
export async function ensureConfluentKafkaPython(): Promise<string> {
  return ensureVenvRequirement(CONFLUENT_KAFKA);
}
