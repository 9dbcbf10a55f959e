/**
 * Public face of the flags module: feature flags through OpenFeature, read synchronously from a cache.
 *
 *   import { flags } from 'onex-events/flags';
 *   if (flags.isEnabled('onex.producer.lz4')) ...              // a Map lookup
 *   flags.onChange('onex.producer.lz4', (on) => ...);          // a live change of the flags file or provider
 */
import { FlagSet } from './flag-set.js';

export { FLAG_DEFINITIONS, flagDefinition, flagEnvName, type FlagKey } from './definitions.js';
export { FileFlagProvider, type FileFlagProviderOptions } from './file-provider.js';
export { FlagSet, type FlagSetOptions } from './flag-set.js';
export { renderFlagsMarkdown } from './docs.js';
export type { FlagDefinition, FlagKind, FlagListener, FlagValue } from './types.js';

/** The process's flags: OpenFeature's default provider, or FileFlagProvider.fromEnv() when none was installed. */
export const flags = new FlagSet();
