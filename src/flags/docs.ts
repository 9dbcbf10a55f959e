import { FLAG_DEFINITIONS, flagEnvName } from './definitions.js';

/** docs/flags.md: the one table of flags, rendered from FLAG_DEFINITIONS (`npm run docs:flags`). */
export function renderFlagsMarkdown(): string {
  const rows = FLAG_DEFINITIONS.map((d) => `| \`${d.key}\` | ${d.kind} | \`${String(d.defaultValue)}\` | ${d.changes} | \`${d.readIn}\` | \`${flagEnvName(d.key)}\` |`);
  return [
    '# Feature flags',
    '',
    '<!-- Generated from src/flags/definitions.ts by `npm run docs:flags`; a unit test keeps this file in step. -->',
    '',
    'Every new feature of the pipeline can be switched on and off for a gradual rollout. Flags are read through',
    '[OpenFeature](https://openfeature.dev) (`@openfeature/server-sdk`), so a deployment can install any OpenFeature',
    'provider (flagd, LaunchDarkly, ...) with `flags.useProvider(provider)` or `OpenFeature.setProvider(provider)`',
    'before the pipeline starts.',
    '',
    'The default provider (`FileFlagProvider`) reads:',
    '',
    '- the JSON file named by `ONEX_FLAGS_FILE`, an object of `"flag.key": value`. The file is watched: a producer or',
    '  worker that is running picks a change up within a moment, without a restart. A file that is invalid while it',
    '  is being edited is ignored and the last good values stay;',
    '- environment variables `ONEX_FLAG_<KEY>` (the key without `onex.`, upper case, `.` as `_`), which pin a flag for',
    '  the life of the process and win over the file.',
    '',
    'A flag switches a feature; the option that configures it stays in charge while the flag is on. A flag that is off',
    'switches the feature off whatever the option says.',
    '',
    '| Flag | Kind | Default | What it changes | Read in | Environment variable |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Adding a flag is one line in `FLAG_DEFINITIONS` (src/flags/definitions.ts), then `npm run docs:flags`. Code reads',
    'it with `flags.isEnabled(key)` (a Map lookup, cheap enough for the path of every event) and follows it with',
    '`flags.onChange(key, listener)`.',
    '',
  ].join('\n');
}
