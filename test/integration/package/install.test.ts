import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packAndInstall, type InstalledPackage } from '../../support/package.js';
import { runProcess } from '../../support/process.js';
import * as source from '../../../src/index.js';

const SUBPATHS = ['producer', 'worker', 'registry', 'schema', 'event', 'errors', 'flags', 'telemetry'];

describe('onex-events installed from its packed tarball', () => {
  let installed: InstalledPackage;
  beforeAll(async () => {
    installed = await packAndInstall();
  }, 600_000);

  const node = (script: string) => runProcess(process.execPath, ['--input-type=module', '-e', script], { cwd: installed.dir });

  it('resolves the root and every subpath as ES modules, with the same root names as the source', async () => {
    const run = await node(`
      const root = await import('onex-events');
      const out = { root: Object.keys(root).sort(), subpaths: {} };
      for (const s of ${JSON.stringify(SUBPATHS)}) out.subpaths[s] = Object.keys(await import('onex-events/' + s)).length;
      console.log(JSON.stringify(out));
    `);
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout) as { root: string[]; subpaths: Record<string, number> };
    expect(out.root).toEqual(Object.keys(source).sort());
    for (const s of SUBPATHS) expect(out.subpaths[s], s).toBeGreaterThan(0);
  });

  it('keeps internals out: a module without a subpath does not resolve', async () => {
    const run = await node(`await import('onex-events/kafka')`);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('ships types a TypeScript project resolves through the exports map', async () => {
    writeFileSync(
      join(installed.dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(process.cwd(), 'node_modules/@types')] }, files: ['check.ts'] }),
    );
    writeFileSync(
      join(installed.dir, 'check.ts'),
      [
        "import { OnexProducer, type EmitResult } from 'onex-events';",
        "import { createWorker } from 'onex-events/worker';",
        "import { flags } from 'onex-events/flags';",
        "const on: boolean = flags.isEnabled('onex.producer.lz4');",
        'const make: typeof createWorker = createWorker;',
        "const status: EmitResult['status'] = 'sent';",
        'export { OnexProducer, on, make, status };',
        // A type error the check must report, so a test that cannot fail is not what passes here.
        "export const wrong: number = flags.isEnabled('x');",
      ].join('\n'),
    );
    const tsc = join(process.cwd(), 'node_modules/.bin/tsc');
    const run = await runProcess(tsc, ['-p', 'tsconfig.json'], { cwd: installed.dir });
    const errors = run.stdout.split('\n').filter((l) => l.includes('error TS'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/check\.ts\(8,14\).*Type 'boolean' is not assignable to type 'number'/);
  });

  it('runs bin/onex from node_modules/.bin with the compiled CLI', async () => {
    const run = await runProcess(join(installed.dir, 'node_modules/.bin/onex'), ['--help'], { cwd: installed.dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: onex/);
    expect(run.stdout).toMatch(/produce/);
    const version = await runProcess(join(installed.dir, 'node_modules/.bin/onex'), ['--version'], { cwd: installed.dir });
    expect(version.stdout.trim()).toBe('0.1.0');
  });
});
