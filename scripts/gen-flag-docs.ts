import { writeFileSync } from 'node:fs';
import { renderFlagsMarkdown } from '../src/flags/index.js';

writeFileSync(new URL('../docs/flags.md', import.meta.url), renderFlagsMarkdown());
