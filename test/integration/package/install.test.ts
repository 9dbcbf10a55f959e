import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../src/kafka/index.js';
import { REPO_ROOT } from '../../support/cli.js';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { installFromGit, packAndInstall, type InstalledPackage } from '../../support/package.js';
import { runProcess } from '../../support/process.js';
import { startTestRegistry, type TestRegistry } from '../../support/registry.js';
import { newTopic } from '../producer/helpers.js';
import * as source from '../../../src/index.js';

/** The example service's own dependencies (fastify, pinned there), installed beside the tarball as a user would. */
const EXAMPLE_DEPENDENCIES = (JSON.parse(readFileSync(join(REPO_ROOT, 'examples/http-service/package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;

/** One pack and install for the whole file: it is the slow part (a build and an npm install). */
let installing: Promise<InstalledPackage> | undefined;
const install = () => (installing ??= packAndInstall(EXAMPLE_DEPENDENCIES));
let gitInstalling: Promise<InstalledPackage> | undefined;
const gitInstall = () => (gitInstalling ??= installFromGit());
// Both installs start at once (each mostly waits on npm and tsc); each describe awaits its own and sees its failure.
beforeAll(() => {
  for (const started of [install(), gitInstall()]) started.catch(() => undefined);
});

/** Every subpath of package.json `exports` that is a module (not ./package.json), so a new one is checked here too. */
const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };
const SUBPATHS = Object.entries(PACKAGE.exports)
  .filter(([key, target]) => key.startsWith('./') && typeof target === 'object')
  .map(([key]) => key.slice(2));

describe.each([
  { from: 'its packed tarball', install },
  { from: 'a git URL (a clone at HEAD; npm runs prepare)', install: gitInstall },
])('onex-events installed from $from', ({ install }) => {
  let installed: InstalledPackage;
  beforeAll(async () => {
    installed = await install();
  }, 600_000);

  const node = (script: string) => runProcess(process.execPath, ['--input-type=module', '-e', script], { cwd: installed.dir });

  it('is the compiled package: dist/ built by prepare, no TypeScript source', () => {
    const pkg = join(installed.dir, 'node_modules/onex-events');
    expect(existsSync(join(pkg, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(pkg, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(join(pkg, 'src'))).toBe(false);
  });

  it('resolves the root and every subpath of package.json exports as ES modules, with the same root names as the source', async () => {
    expect(SUBPATHS.length).toBeGreaterThanOrEqual(13);
    const run = await node(`
      const root = await import('onex-events');
      const out = { root: Object.keys(root).sort(), subpaths: {} };
      for (const s of ${JSON.stringify(SUBPATHS)}) out.subpaths[s] = Object.keys(await import('onex-events/' + s)).length;
      console.log(JSON.stringify(out));
    `);
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout) as { root: string[]; subpaths: Record<string, number> };
    expect(out.root).toEqual(Object.keys(source).sort());
    expect(Object.keys(out.subpaths)).toEqual(SUBPATHS);
    for (const s of SUBPATHS) expect(out.subpaths[s], s).toBeGreaterThan(0);
  });

  it('keeps internals out: a module without a subpath does not resolve', async () => {
    const run = await node(`await import('onex-events/kafka')`);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('ships types a TypeScript project resolves through the exports map, for the root and every subpath', async () => {
    writeFileSync(
      join(installed.dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(process.cwd(), 'node_modules/@types')] }, files: ['check.ts'] }),
    );
    const lines = [
      "import { OnexProducer, type EmitResult } from 'onex-events';",
      "import { createWorker } from 'onex-events/worker';",
      "import { flags } from 'onex-events/flags';",
      "const on: boolean = flags.isEnabled('onex.producer.lz4');",
      'const make: typeof createWorker = createWorker;',
      "const status: EmitResult['status'] = 'sent';",
      'export { OnexProducer, on, make, status };',
      // Under strict, a subpath whose declarations do not resolve is an error (TS7016 or TS2307).
      ...SUBPATHS.map((s, i) => `export * as subpath${i} from 'onex-events/${s}';`),
      // Two errors the check must report, so a test that cannot fail is not what passes here.
      "export const wrong: number = flags.isEnabled('x');",
      "export * as internal from 'onex-events/kafka';",
    ];
    writeFileSync(join(installed.dir, 'check.ts'), lines.join('\n'));
    const tsc = join(process.cwd(), 'node_modules/.bin/tsc');
    const run = await runProcess(tsc, ['-p', 'tsconfig.json'], { cwd: installed.dir });
    const errors = run.stdout.split('\n').filter((l) => l.includes('error TS'));
    expect(errors, errors.join('\n')).toHaveLength(2);
    expect(errors[0]).toMatch(new RegExp(`check\\.ts\\(${lines.length - 1},14\\).*Type 'boolean' is not assignable to type 'number'`));
    expect(errors[1]).toMatch(new RegExp(`check\\.ts\\(${lines.length},\\d+\\).*'onex-events/kafka'`));
  });

  it('runs bin/onex from node_modules/.bin with the compiled CLI', async () => {
    const run = await runProcess(join(installed.dir, 'node_modules/.bin/onex'), ['--help'], { cwd: installed.dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: onex/);
    expect(run.stdout).toMatch(/produce/);
    const version = await runProcess(join(installed.dir, 'node_modules/.bin/onex'), ['--version'], { cwd: installed.dir });
    expect(version.stdout.trim()).toBe(PACKAGE.version);
  });
});

/** A long-running program of the examples: its stdout lines as they come, and a way to stop it. */
interface Running {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  /** Resolves with the first `count` stdout lines that `match` accepts; rejects after timeoutMs or on exit. */
  waitFor(match: (line: string) => boolean, count: number, timeoutMs: number): Promise<string[]>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

function start(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => stderr,
    waitFor: (match, count, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hits = lines.filter(match);
          if (hits.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hits.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${args.join(' ')}: ${lines.filter(match).length} of ${count} lines in ${timeoutMs} ms; stderr: ${stderr.slice(-1500)}`));
        }, timeoutMs);
        void exit.then((code) => {
          if (!waiters.has(check)) return;
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`${args.join(' ')} exited with ${code} before ${count} lines; stderr: ${stderr.slice(-1500)}`));
        });
        waiters.add(check);
        check();
      }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exit;
    },
  };
}

/** The ```js blocks of the README: the producer first, then the worker's handler module. */
const README_SNIPPETS = [...readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

describe('examples/ (and the README\'s snippets) written against the installed tarball', () => {
  let installed: InstalledPackage;
  let registry: TestRegistry;
  const running: Running[] = [];
  beforeAll(async () => {
    [installed, registry] = await Promise.all([install(), startTestRegistry()]);
    cpSync(join(REPO_ROOT, 'examples'), join(installed.dir, 'examples'), { recursive: true });
    // The README's js blocks (the SDK and the worker module), as files beside the examples, so they are checked too.
    README_SNIPPETS.forEach((code, i) => writeFileSync(join(installed.dir, 'examples', `readme-${i + 1}.mjs`), `// @ts-check\n${code}`));
  }, 600_000);
  afterAll(async () => {
    for (const r of running) await r.stop();
    await registry?.stop();
  });

  it("typecheck against the package's own types (checkJs), which do catch a wrong type", async () => {
    expect(README_SNIPPETS.map((c) => /OnexProducer|export const handlers/.exec(c)?.[0])).toEqual(['OnexProducer', 'export const handlers']);
    // A file with one deliberate type error, so that a check that sees nothing cannot pass.
    writeFileSync(join(installed.dir, 'examples', 'wrong.mjs'), "// @ts-check\nimport { OnexProducer } from 'onex-events';\n/** @type {number} */\nexport const n = OnexProducer;\n");
    writeFileSync(
      join(installed.dir, 'tsconfig.examples.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, allowJs: true, checkJs: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(process.cwd(), 'node_modules/@types')] },
        include: ['examples/**/*.mjs'],
      }),
    );
    const run = await runProcess(join(process.cwd(), 'node_modules/.bin/tsc'), ['-p', 'tsconfig.examples.json'], { cwd: installed.dir });
    const errors = run.stdout.split('\n').filter((l) => l.includes('error TS'));
    expect(errors, errors.join('\n')).toHaveLength(1);
    expect(errors[0]).toMatch(/examples\/wrong\.mjs\(4,14\)/);
  });

  it('the HTTP service emits an event per request and `onex worker` with the example handlers gets them upcast to 2.0.0', async () => {
    const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'examples-test' });
    const topic = await newTopic(kafka, 'examples', 1);
    const env = { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(','), SCHEMA_REGISTRY_URL: registry.url, ONEX_TOPIC: topic, PORT: '0', ONEX_LOG_LEVEL: 'error' };
    const service = start(process.execPath, ['examples/http-service/server.mjs'], installed.dir, env);
    running.push(service);
    const [listening] = await service.waitFor((l) => l.startsWith('listening on '), 1, 30_000);
    const url = listening!.slice('listening on '.length);

    const post = (body: string) => fetch(`${url}/stamp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const sent: string[] = [];
    for (const file of ['src/a.py', 'src/b.py', 'src/c.py']) {
      const res = await post(JSON.stringify({ file }));
      expect(res.status).toBe(202);
      const body = (await res.json()) as { status: string; eventId: string };
      expect(body.status).toBe('sent');
      sent.push(body.eventId);
    }
    // fastify refuses what is not JSON and what its body schema rejects; the SDK's validation failure is a 422.
    expect((await post('not json')).status).toBe(400);
    expect((await post('{"path":"src/a.py"}')).status).toBe(400);
    const tooBig = await post(JSON.stringify({ file: 'x'.repeat(150 * 1024) }));
    expect(tooBig.status).toBe(422);
    expect(((await tooBig.json()) as { code: string }).code).toBe('ONEX_VALID_105');

    const worker = start(
      join(installed.dir, 'node_modules/.bin/onex'),
      ['worker', '--handlers', 'examples/worker/handlers.mjs', '--topic', topic, '--group', uniqueTopic('examples-group'), '--from-beginning'],
      installed.dir,
      env,
    );
    running.push(worker);
    const handled = (await worker.waitFor((l) => l.startsWith('{"handled"'), 3, 60_000)).map((l) => JSON.parse(l) as Record<string, string>);
    expect(handled).toEqual(
      sent.map((id, i) => ({ handled: 'NODE_START', event_id: id, file: `src/${'abc'[i]}.py`, written: '1.3.0', read: '2.0.0' })),
    );
    expect(await service.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
  });

  it("the README's producer snippet runs as written: one event sent, and the process exits 0", async () => {
    const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'examples-test' });
    const topic = await newTopic(kafka, 'readme', 1);
    // The snippet writes to onex.events; a copy aimed at a fresh topic keeps the shared broker's topics apart.
    const code = readFileSync(join(installed.dir, 'examples', 'readme-1.mjs'), 'utf8').replace("topic: 'onex.events'", `topic: ${JSON.stringify(topic)}`);
    expect(code).toContain(topic);
    writeFileSync(join(installed.dir, 'examples', 'readme-run.mjs'), code);
    const run = await runProcess(process.execPath, ['examples/readme-run.mjs'], {
      cwd: installed.dir,
      env: { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(','), SCHEMA_REGISTRY_URL: registry.url, ONEX_LOG_LEVEL: 'error' },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^sent [0-9a-f-]{36}$/);
  });
});
