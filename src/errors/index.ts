export * from './codes.js';
export * from './onex-error.js';
export { renderErrorsMarkdown } from './docs.js';
