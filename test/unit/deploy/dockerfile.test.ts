import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, matchesGlob } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Copy, type Entrypoint, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// No Docker engine runs here, so the image is never built by this test (nor anywhere in this project's suite).
// What can be checked without one is: the Dockerfile parses and lints clean (dockerfile-utils, the linter of the
// VS Code Docker extension), its stages, user, entry point and health check are the ones docs/deploy.md promises,
// every file the runtime needs is copied (compared with what `npm pack` ships), .dockerignore keeps the rest out of
// the build context without hiding a copied file, and the entry point runs from a packed install.

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const text = readFileSync(join(REPO, 'deploy/Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; engines: { node: string } };
const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

/** The instructions of each stage, by stage name. */
function stages(): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const i of dockerfile.getInstructions()) {
    if (i.getKeyword() === 'FROM') out.set(dockerfile.getFROMs().find((f) => f.getRange().start.line === i.getRange().start.line)!.getBuildStage()!, (current = []));
    else current?.push(i);
  }
  return out;
}
const of = (list: Instruction[], keyword: string) => list.filter((i) => i.getKeyword() === keyword);
/** COPY sources and destination, without flags; `from` is the --from stage, if any. */
const copies = (list: Instruction[]) =>
  (of(list, 'COPY') as Copy[]).map((c) => {
    const args = c.getArguments().map((a) => a.getValue());
    return { from: c.getFromFlag()?.getValue(), sources: args.slice(0, -1), dest: args.at(-1)! };
  });
/** Whether .dockerignore keeps `path` (relative to the repository root) out of the build context. */
const ignored = (path: string) => ignore.some((p) => path === p || path.startsWith(`${p}/`) || matchesGlob(path, p));

describe('deploy/Dockerfile', () => {
  const byStage = stages();
  const runtime = byStage.get('runtime')!;
  const build = byStage.get('build')!;

  it('lints clean, and the linter catches a broken copy (so the check can fail)', () => {
    expect(validate(text).map((d) => d.message)).toEqual([]);
    expect(validate(`${text}\nHEALTHCHECK CMD ["true"]\nEXPOSE http\n`).length).toBeGreaterThanOrEqual(2);
  });

  it('builds in a full Node 20 image and runs in Node 20 slim, the Node the package requires', () => {
    expect([...byStage.keys()]).toEqual(['build', 'runtime']);
    const [b, r] = dockerfile.getFROMs();
    const nodeVersion = (of(dockerfile.getInstructions(), 'ARG')[0]!.getArguments()[0]!.getValue()).split('=')[1]!;
    expect(nodeVersion).toMatch(/^20\.\d+\.\d+$/);
    expect(pkg.engines.node).toBe('>=20');
    expect([b!.getImageName(), b!.getImageTag()]).toEqual(['node', '${NODE_VERSION}-bookworm']);
    expect([r!.getImageName(), r!.getImageTag()]).toEqual(['node', '${NODE_VERSION}-bookworm-slim']);
  });

  it('installs from the lockfile with dev dependencies to build, and hands only production ones to the runtime', () => {
    const run = of(build, 'RUN').map((i) => i.getArgumentsContent()).join(' && ');
    expect(run).toMatch(/\bnpm ci\b/);
    expect(run).toMatch(/\bnpm prune --omit=dev\b/);
    expect(copies(build).flatMap((c) => c.sources)).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src']));
    const fromBuild = copies(runtime).filter((c) => c.from === 'build');
    expect(fromBuild.map((c) => c.sources[0]).sort()).toEqual(['/src/dist', '/src/node_modules']);
    expect(of(runtime, 'RUN')).toEqual([]);
  });

  it('runs as a non-root user, the uid deploy/k8s runs its pods as', () => {
    const users = of(runtime, 'USER').map((u) => u.getArgumentsContent());
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    const worker = parse(readFileSync(join(REPO, 'deploy/k8s/base/worker.yaml'), 'utf8').split('\n---\n')[0]!) as { spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } } };
    expect(worker.spec.template.spec.securityContext).toMatchObject({ runAsUser: uid, runAsGroup: gid });
  });

  it('has `onex` as its entry point and a HEALTHCHECK on /healthz through the copied script', () => {
    const entry = (of(runtime, 'ENTRYPOINT')[0] as Entrypoint).getJSONStrings().map((s) => s.getJSONValue());
    expect(entry).toEqual(['node', `/app/${pkg.bin.onex!.replace(/^\.\//, '')}`]);
    const hc = of(runtime, 'HEALTHCHECK')[0]!.getArgumentsContent()!;
    const cmd = JSON.parse(hc.slice(hc.indexOf('CMD') + 3)) as string[];
    expect(cmd).toEqual(['node', '/app/deploy/healthcheck.mjs']);
    expect(readFileSync(join(REPO, 'deploy/healthcheck.mjs'), 'utf8')).toContain("'http://127.0.0.1:9464/healthz'");
    expect(of(runtime, 'WORKDIR').map((w) => w.getArgumentsContent())).toEqual(['/app']);
  });

  it('copies every file `npm pack` ships, from a path that exists and that .dockerignore lets through', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const packed = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(packed).toContain('deploy/healthcheck.mjs');
    // The runtime stage keeps the repository's layout under /app: each context COPY lands at ./ or at its own path.
    for (const c of copies(runtime).filter((x) => !x.from)) for (const s of c.sources) expect([`./`, `./${s}`], s).toContain(c.dest);
    const copied = copies(runtime).flatMap((c) => c.sources.map((s) => (c.from === 'build' ? s.replace(/^\/src\//, '') : s)));
    for (const file of packed) expect(copied.some((p) => file === p || file.startsWith(`${p}/`)), `${file} is packed but not copied`).toBe(true);
    for (const c of [...copies(build), ...copies(runtime).filter((x) => !x.from)]) {
      for (const s of c.sources) {
        expect(existsSync(join(REPO, s)), `${s} does not exist`).toBe(true);
        expect(ignored(s), `${s} is copied but .dockerignore drops it`).toBe(false);
      }
    }
  });
});

describe('.dockerignore', () => {
  it('keeps dependencies, build output, tests, caches and secrets out of the build context', () => {
    for (const path of ['node_modules', 'dist', '.git', '.venv', '.onex', 'test', 'bench', 'coverage', '.env', '.env.local', 'server.pem', 'key.key', 'debug.log', 'node_modules/kafkajs/package.json', 'test/unit/deploy/dockerfile.test.ts']) {
      expect(ignored(path), path).toBe(true);
    }
    for (const path of ['package.json', 'src/index.ts', 'bin/onex.js', 'avro/README.md']) expect(ignored(path), path).toBe(false);
  });
});

describe('the image entry point from a packed install', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'onex-pack-'));
    // What the Dockerfile's runtime stage holds: the packed files at /app, beside node_modules.
    const r = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const t = spawnSync('tar', ['xzf', join(dir, `onex-events-${pkg.version}.tgz`), '-C', dir], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    // The compiled CLI is what the image runs (bin/onex.js falls back to the TypeScript sources only in a checkout).
    expect(existsSync(join(dir, 'package', 'dist', 'cli', 'main.js')), 'the packed tarball has no dist/cli/main.js: run npm run build').toBe(true);
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'package', 'node_modules'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([[['--help']], [['worker', '--help']], [['registry', 'serve', '--help']], [['alerts', 'run', '--help']], [['produce', '--help']]])('node bin/onex.js %s runs', (args) => {
    const r = spawnSync(process.execPath, [join(dir, 'package', pkg.bin.onex!), ...args], { cwd: join(dir, 'package'), encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: onex/);
  });
});
