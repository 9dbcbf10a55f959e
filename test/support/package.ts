import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';
import { runProcess } from './process.js';

export interface InstalledPackage {
  /** A temporary npm project with onex-events installed (from its packed tarball or from a git URL). */
  readonly dir: string;
  /** What was given to `npm install`: the tarball's path or the git URL. */
  readonly spec: string;
}

// prefer-offline in the environment reaches the npm that a git install runs inside the clone too.
const NPM_ENV = { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', npm_config_prefer_offline: 'true' };

async function npm(args: string[], cwd: string, timeoutMs = 300_000): Promise<string> {
  const run = await runProcess('npm', args, { cwd, timeoutMs, env: { ...process.env, ...NPM_ENV } });
  if (run.code !== 0) throw new Error(`npm ${args.join(' ')} failed (${run.code}): ${run.stderr.slice(-2000)}`);
  return run.stdout;
}

async function git(args: string[], cwd: string): Promise<string> {
  const run = await runProcess('git', args, { cwd, timeoutMs: 120_000 });
  if (run.code !== 0) throw new Error(`git ${args.join(' ')} failed (${run.code}): ${run.stderr.slice(-2000)}`);
  return run.stdout.trim();
}

/**
 * An empty npm project (`<root>/app`) that runs `npm install <spec>` as a user would, plus extraDependencies.
 * Dependencies come from the npm cache when they are there (`--prefer-offline`), else the registry.
 */
async function installInto(root: string, spec: string, extraDependencies: Record<string, string>): Promise<InstalledPackage> {
  const dir = join(root, 'app');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'onex-pack-test-app', private: true, type: 'module', dependencies: extraDependencies }, null, 2));
  await npm(['install', '--no-package-lock', spec, ...Object.entries(extraDependencies).map(([n, v]) => `${n}@${v}`)], dir);
  if (!existsSync(join(dir, 'node_modules/onex-events/package.json'))) throw new Error(`npm install ${spec} did not install onex-events`);
  return { dir, spec };
}

/** What a user does: `npm pack` the project (its `prepare` builds dist/), then `npm install ./onex-events-x.y.z.tgz`. */
export async function packAndInstall(extraDependencies: Record<string, string> = {}): Promise<InstalledPackage> {
  const root = mkdtempSync(join(tmpdir(), 'onex-pack-'));
  const packDir = join(root, 'tarball');
  mkdirSync(packDir);
  await npm(['pack', '--pack-destination', packDir], REPO_ROOT);
  return installInto(root, join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!), extraDependencies);
}

/**
 * `npm install git+file:///...` of a clone of this repository at HEAD (committed files only, as a git install sees
 * them): npm clones it, installs its dependencies, runs `prepare` (the build) and installs what `npm pack` would ship.
 */
export async function installFromGit(extraDependencies: Record<string, string> = {}): Promise<InstalledPackage> {
  const root = mkdtempSync(join(tmpdir(), 'onex-git-'));
  const clone = join(root, 'onex-events.git');
  const head = await git(['rev-parse', 'HEAD'], REPO_ROOT);
  await git(['clone', '--quiet', '--depth', '1', `file://${REPO_ROOT}`, clone], root);
  const cloned = await git(['rev-parse', 'HEAD'], clone);
  if (cloned !== head) throw new Error(`the clone is at ${cloned}, not at the repository's HEAD ${head}`);
  return installInto(root, `git+file://${clone}#${head}`, extraDependencies);
}
