import { COMPONENTS, ONEX_CODES, type Component } from './codes.js';

/** The documentation page docs/errors.md, rendered from the registry (scripts/gen-error-docs.ts writes it). */
export function renderErrorsMarkdown(): string {
  const lines = [
    '# ONEX error codes',
    '',
    'Every error the pipeline raises carries one of these codes (`OnexError.code`). The short form',
    '(`ONEX_EVENT_602`) goes into events, dead-letter headers and API answers. Codes are permanent.',
    'Recoverable: **No**, retrying cannot help; **Yes**, the caller can go on; **Retry**, the same call may succeed later.',
    'This page is generated from `src/errors/codes.ts` by `npm run docs:errors`; a unit test keeps it in step.',
    '',
  ];
  for (const [component, { title, range }] of Object.entries(COMPONENTS) as [Component, (typeof COMPONENTS)[Component]][]) {
    const rows = Object.entries(ONEX_CODES).filter(([, info]) => info.component === component);
    if (rows.length === 0) continue;
    lines.push(`## ${component}: ${title} (${range[0]}-${range[1]})`, '');
    lines.push('| code | long name | description | severity | recoverable |', '|---|---|---|---|---|');
    for (const [code, info] of rows) {
      lines.push(`| ${code} | ${info.name} | ${info.description} | ${info.severity} | ${info.recoverable} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
