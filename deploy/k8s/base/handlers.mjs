// Example handler module for the onex-worker Deployment: accepts every event (the worker still decodes, upcasts,
// validates and counts it). Replace it with the deployment's own handlers.
export const handlers = {
  '*': () => undefined,
};
