import { writeFileSync } from 'node:fs';
import { renderErrorsMarkdown } from '../src/errors/index.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsMarkdown());
