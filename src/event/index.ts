/**
 * Public face of the event module: the OnexEvent of each schema version, the event types, the metadata standards,
 * limits and validation. The ONEX error taxonomy lives in src/errors and is re-exported here, so that event code
 * has one import for everything about an event.
 */
export * from '../errors/index.js';
export * from './versions.js';
export * from './event-types.js';
export * from './types.js';
export * from './metadata-rules.js';
export * from './limits.js';
export * from './timestamp.js';
export * from './validate.js';
export * from './cloudevents.js';
