/**
 * Public face of the inspect server (onex-events/inspect): `startInspectServer()` serves /healthz, /readyz,
 * /metrics, the correlation API and a page that draws a flow's trace as a waterfall, over the correlation index.
 * docs/inspect.md lists the routes.
 */
export { createInspectApp, startInspectServer } from './server.js';
export type { InspectServer } from './server.js';
export { INSPECT_DEFAULTS } from './options.js';
export type { InspectServerOptions } from './options.js';
export { inspectPage } from './page.js';
