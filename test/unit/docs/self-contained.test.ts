import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The project explains itself: what the code relies on is in docs/, and nothing in the repository points at
// documents outside it. The names are built here so that this file does not match itself.
const OUTSIDE = [['design', 'md'].join('.'), ['onex-reference', 'md'].join('.'), ['..', 'shared'].join('/')];
const root = new URL('../../../', import.meta.url);

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && !f.endsWith('package-lock.json'));
}

describe('the repository', () => {
  it('cites no document outside it', () => {
    const citing: string[] = [];
    for (const file of trackedFiles()) {
      let text: string;
      try {
        text = readFileSync(new URL(file, root), 'utf8');
      } catch {
        continue; // listed but gone from the work tree (a rename in progress)
      }
      for (const name of OUTSIDE) if (text.includes(name)) citing.push(`${file}: ${name}`);
    }
    expect(citing).toEqual([]);
  });

  it('has the architecture and protocol pages the code points at', () => {
    for (const page of ['docs/architecture.md', 'docs/protocol.md']) {
      expect(readFileSync(new URL(page, root), 'utf8')).toMatch(/^# /);
    }
  });
});
