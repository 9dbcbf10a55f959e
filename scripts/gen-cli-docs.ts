import { writeFileSync } from 'node:fs';
import { renderCliMarkdown } from '../src/cli/docs.js';
import { buildProgram } from '../src/cli/main.js';

writeFileSync(new URL('../docs/cli.md', import.meta.url), renderCliMarkdown(buildProgram()));
