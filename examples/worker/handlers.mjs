// @ts-check
// Handlers for `onex worker`: every event arrives decoded and upcast to targetVersion, whatever version it was written in.
//   onex worker --handlers handlers.mjs --topic onex.events --group stamps -b 127.0.0.1:9092 --registry http://127.0.0.1:8081

/** The schema version these handlers speak; older events are upcast to it. */
export const targetVersion = '2.0.0';

/** @typedef {import('onex-events').OnexEventV2_0} Event the shape of every event here, since targetVersion is 2.0.0 */

/** @type {import('onex-events').HandlerMap} */
export const handlers = {
  NODE_START: (any, ctx) => {
    const event = /** @type {Event} */ (any);
    const file = /** @type {{ input_state?: { file?: string } }} */ (event.metadata).input_state?.file;
    print({ handled: event.event_type, event_id: event.event_id, file, written: ctx.writerVersion, read: event.schema_version });
  },
  // Everything else, including event types newer than this package knows.
  '*': (any, ctx) => {
    const event = /** @type {Event} */ (any);
    print({ handled: event.event_type, event_id: event.event_id, written: ctx.writerVersion, read: event.schema_version });
  },
};

/** One JSON line per event on stdout (the worker's own logs go to stderr). @param {Record<string, unknown>} line */
function print(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
