import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderCliMarkdown } from '../../../src/cli/docs.js';
import { buildProgram } from '../../../src/cli/main.js';

describe('docs/cli.md', () => {
  it('is the rendering of the program (run npm run docs:cli after changing a flag)', () => {
    const page = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
    expect(page).toBe(renderCliMarkdown(buildProgram()));
  });
  it('lists every flag with its default and the environment variable it falls back to', () => {
    const page = renderCliMarkdown(buildProgram());
    expect(page).toMatch(/## onex consume[\s\S]*\| `-b, --bootstrap-server <list>` \|  \| KAFKA_BROKERS \|/);
    expect(page).toMatch(/\| `--port <port>` \| 8081 \|/);
    expect(page).toContain('Also accepted, for older command lines: `--brokers`, `--kafka`.');
  });
});
