import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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
});
