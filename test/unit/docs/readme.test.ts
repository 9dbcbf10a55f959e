import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The README is for users: it starts with the two commands, shows the SDK and a worker, lists the commands, and keeps
// benchmarks to one table of ratios (the lab notes live in bench/README.md). These checks keep it that way.
const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const readme = read('README.md');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

/** The body of the `## title` section, up to the next `## `. */
function section(text: string, title: string): string {
  const start = text.indexOf(`\n## ${title}\n`);
  expect(start, `README section "${title}"`).toBeGreaterThan(-1);
  const end = text.indexOf('\n## ', start + 4);
  return text.slice(start, end === -1 ? undefined : end);
}

describe('README.md', () => {
  it('starts with the two commands, which are package scripts, and the test one is what .ci/run runs', () => {
    const first = /^# onex-events\n\n```sh\n([^`]*)```/.exec(readme);
    expect(first, 'the README opens with a sh block right under the title').not.toBeNull();
    const commands = first![1]!.trim().split('\n').map((l) => l.replace(/#.*/, '').trim());
    expect(commands).toEqual(['npm ci && npm run dev', 'npm ci && npm test']);
    expect(pkg.scripts.dev).toMatch(/src\/cli\/main\.ts dev$/);
    expect(pkg.scripts.test).toMatch(/vitest run/);
    const ci = read('.ci/run').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(ci.at(-1)).toBe('npm ci && npm test');
  });

  it('links only to files that exist (as do the pages the README sends readers to)', () => {
    const missing: string[] = [];
    for (const page of ['README.md', 'bench/README.md', 'docs/dev.md', 'docs/architecture.md', 'examples/README.md']) {
      for (const m of read(page).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // a URL
        if (!existsSync(join(root, dirname(page), target))) missing.push(`${page}: ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('names in its layout exactly the folders of src/, and only top-level folders that exist', () => {
    const layout = section(readme, 'Architecture').split('```')[1]!;
    const named = [...layout.matchAll(/^(\S+)\s/gm)].map((m) => m[1]!.replace(/\/$/, ''));
    for (const name of named) expect(existsSync(join(root, name)), name).toBe(true);
    const srcDirs = readdirSync(join(root, 'src')).filter((d) => statSync(join(root, 'src', d)).isDirectory());
    expect(named.filter((n) => n.startsWith('src/')).map((n) => n.slice(4)).sort()).toEqual(srcDirs.sort());
  });

  it('lists every command of docs/cli.md in its command table', () => {
    const table = section(readme, 'The onex command');
    const commands = new Set([...read('docs/cli.md').matchAll(/^## onex (\S+)/gm)].map((m) => m[1]!));
    for (const command of commands) expect(table, `onex ${command}`).toContain(`onex ${command}`);
  });

  it('shows the SDK and a worker module, the ones examples/ holds in full', () => {
    const sdk = section(readme, 'Using it from a service');
    expect(sdk).toContain('OnexProducer.fromEnv(');
    expect(sdk).toContain('examples/http-service/server.mjs');
    expect(sdk).toContain('examples/worker/handlers.mjs');
    expect(read('examples/http-service/server.mjs')).toContain('OnexProducer.fromEnv(');
    expect(read('examples/worker/handlers.mjs')).toContain("export const targetVersion = '2.0.0';");
  });

  it('keeps benchmarks to one table of ratios and sends the rest to bench/README.md', () => {
    const bench = section(readme, 'Benchmarks');
    expect(bench.match(/^\|---/gm)).toHaveLength(1);
    expect(bench).toContain('bench/README.md');
    expect(readme.match(/^## Benchmarks$/gm)).toHaveLength(1);
    expect(readme).not.toMatch(/^### (Worker|Producer|Registry|Schema codec)$/m);
  });
});
