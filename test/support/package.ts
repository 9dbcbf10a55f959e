import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';
import { runProcess } from './process.js';

export interface InstalledPackage {
  /** A temporary npm project with the packed onex-events installed from its tarball. */
  readonly dir: string;
  readonly tarball: string;
}

async function npm(args: string[], cwd: string, timeoutMs = 300_000): Promise<string> {
  const run = await runProcess('npm', args, { cwd, timeoutMs, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  if (run.code !== 0) throw new Error(`npm ${args.join(' ')} failed (${run.code}): ${run.stderr.slice(-2000)}`);
  return run.stdout;
}

/**
 * What a user does: `npm pack` the project (its `prepare` builds dist/), then `npm install ./onex-events-x.y.z.tgz` in
 * an empty project. Dependencies come from the npm cache when they are there (`--prefer-offline`), else the registry.
 */
export async function packAndInstall(extraDependencies: Record<string, string> = {}): Promise<InstalledPackage> {
  const root = mkdtempSync(join(tmpdir(), 'onex-pack-'));
  const packDir = join(root, 'tarball');
  mkdirSync(packDir);
  await npm(['pack', '--pack-destination', packDir], REPO_ROOT);
  const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!);
  const dir = join(root, 'app');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'onex-pack-test-app', private: true, type: 'module', dependencies: extraDependencies }, null, 2));
  await npm(['install', '--prefer-offline', '--no-package-lock', tarball, ...Object.entries(extraDependencies).map(([n, v]) => `${n}@${v}`)], dir);
  return { dir, tarball };
}
