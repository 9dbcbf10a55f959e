import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as root from '../../../src/index.js';

const repo = (path: string) => new URL(`../../../${path}`, import.meta.url);
const apiPage = readFileSync(repo('docs/api.md'), 'utf8');
const pkg = JSON.parse(readFileSync(repo('package.json'), 'utf8')) as { exports: Record<string, string | { types: string; import: string }> };

/** Rows of the root table: | `Name` | value or type | module | ... | */
function documentedRoot(kind: 'value' | 'type'): string[] {
  return [...apiPage.matchAll(/^\| `(\w+)` \| (value|type) \|/gm)].filter((m) => m[2] === kind).map((m) => m[1]!).sort();
}

/** Type-only names the root re-exports, read from its `export type { ... }` lines. */
function rootTypeExports(): string[] {
  const text = readFileSync(repo('src/index.ts'), 'utf8');
  return [...text.matchAll(/^export type \{([^}]*)\}/gm)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()).filter(Boolean)).sort();
}

describe('the public API', () => {
  it('the root exports exactly the values docs/api.md lists', () => {
    expect(Object.keys(root).sort(), 'a value was added to or removed from src/index.ts: update docs/api.md (or undo it)').toEqual(documentedRoot('value'));
  });

  it('the root exports exactly the types docs/api.md lists', () => {
    expect(rootTypeExports(), 'a type was added to or removed from src/index.ts: update docs/api.md (or undo it)').toEqual(documentedRoot('type'));
  });

  it('every subpath in package.json exports is a module with an index, built to dist with its types, and documented', () => {
    const documented = [...apiPage.matchAll(/^\| `onex-events\/([\w-]+)` \| src\/([\w-]+) \|/gm)].map((m) => {
      expect(m[1], 'a subpath is named after its module').toBe(m[2]);
      return m[1]!;
    });
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== '.' && k !== './package.json').map((k) => k.slice(2));
    expect(subpaths.sort()).toEqual([...documented].sort());
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    for (const name of subpaths) {
      expect(pkg.exports[`./${name}`]).toEqual({ types: `./dist/${name}/index.d.ts`, import: `./dist/${name}/index.js` });
      expect(existsSync(repo(`src/${name}/index.ts`)), `src/${name}/index.ts`).toBe(true);
    }
    expect(subpaths).toEqual(expect.arrayContaining(['producer', 'worker', 'registry', 'schema', 'event', 'errors', 'flags', 'telemetry']));
  });
});
