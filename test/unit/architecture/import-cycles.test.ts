import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * No import circle in src/, type-only imports included: a circle means two modules are one concern split in two,
 * and the types both need belong in a types.ts that both import.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [join(dir, d.name)] : [],
  );
}

/** Relative imports and re-exports of a file, as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+['"](\.[^'"]+)['"]/g)) {
    found.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  }
  return found;
}

function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t].map((p) => relative(root, p)));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

/** A file's module: its directory under src/ (processors/alerting is a module of its own); '' for src/index.ts. */
function moduleOf(file: string): string {
  return relative(root, dirname(file));
}

/** The files through which other modules enter a module: its public face, its types, and its faces for the project. */
const FACES = new Set(['index.ts', 'types.ts', 'internal.ts']);

/** Imports of `file` into another module's implementation files (not through one of the FACES), as "from -> to". */
function reachesIn(file: string, imports: readonly string[] = importsOf(file)): string[] {
  const from = moduleOf(file);
  return imports
    .filter((t) => {
      const to = moduleOf(t);
      const within = to === from || to.startsWith(`${from}/`) || from.startsWith(`${to}/`) || from === 'cli' || from.startsWith('cli/') || from === '';
      return !within && !FACES.has(basename(t));
    })
    .map((t) => `${relative(root, file)} -> ${relative(root, t)}`);
}

describe('src/ imports', () => {
  it('the check finds a circle and only a circle', () => {
    const g = (edges: Record<string, string[]>) => new Map(Object.entries(edges).map(([f, to]) => [join(root, f), to.map((t) => join(root, t))]));
    expect(findCycles(g({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'] }))).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(findCycles(g({ 'a.ts': ['b.ts', 'c.ts'], 'b.ts': ['c.ts'], 'c.ts': [] }))).toEqual([]);
  });

  it('the import scan sees type-only imports and re-exports', () => {
    const imports = importsOf(join(root, 'worker/index.ts')).map((p) => relative(root, p));
    expect(imports).toContain('worker/types.ts');
    expect(imports).toContain('worker/worker.ts');
  });

  it('form no circle, type-only imports included', () => {
    const files = sources(root);
    expect(files.length).toBeGreaterThan(50);
    expect(findCycles(new Map(files.map((f) => [f, importsOf(f).filter((t) => t !== f)])))).toEqual([]);
  });

  it('enter another module only through its index.ts, types.ts or internal.ts (the cli and the package root excepted)', () => {
    const files = sources(root);
    expect(importsOf(join(root, 'worker/worker.ts')).length).toBeGreaterThan(5);
    expect(files.flatMap((f) => reachesIn(f))).toEqual([]);
  });

  it('the face check sees a reach into another module, and lets a submodule, the cli and the root through', () => {
    const at = (...files: string[]) => files.map((f) => join(root, f));
    expect(reachesIn(join(root, 'flags/x.ts'), at('telemetry/tracer.ts', 'telemetry/internal.ts', 'telemetry/types.ts', 'flags/y.ts'))).toEqual([
      'flags/x.ts -> telemetry/tracer.ts',
    ]);
    expect(reachesIn(join(root, 'processors/alerting/x.ts'), at('processors/task.ts', 'telemetry/index.ts'))).toEqual([]);
    expect(reachesIn(join(root, 'cli/commands/x.ts'), at('worker/batch.ts'))).toEqual([]);
    expect(reachesIn(join(root, 'index.ts'), at('worker/batch.ts'))).toEqual([]);
  });

  it("import only the modules docs/architecture.md's table says each may import", () => {
    const table = new Map<string, Set<string>>();
    const text = readFileSync(join(root, '../docs/architecture.md'), 'utf8');
    for (const m of text.matchAll(/^\| `src\/([a-z]+)` \|.*\| ([a-z, ]+) \|$/gm)) {
      table.set(m[1]!, new Set(m[2] === 'nothing' || m[2] === 'everything' ? [] : m[2]!.split(', ')));
    }
    expect(table.get('worker')?.has('codec')).toBe(true);
    const topOf = (f: string) => relative(root, f).split('/')[0]!;
    const found: string[] = [];
    for (const file of sources(root)) {
      const from = topOf(file);
      if (from === 'cli' || from.endsWith('.ts') || from === 'types') continue;
      const allowed = table.get(from);
      if (!allowed) found.push(`src/${from} has no row in the table`);
      for (const to of importsOf(file).map(topOf)) {
        if (to !== from && !to.endsWith('.ts') && allowed && !allowed.has(to)) found.push(`${relative(root, file)} imports ${to}`);
      }
    }
    expect([...new Set(found)]).toEqual([]);
  });
});
