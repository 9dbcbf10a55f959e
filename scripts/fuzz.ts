/**
 * The long fuzz run (outside the default suite): the properties of test/fuzz/properties.ts with many more cases.
 *   npm run fuzz                     # 1,000,000 decoder cases (random bytes + mutated records), plus validation,
 *                                    # the registry's REST API and the alert rule loader (100,000 cases each)
 *   npm run fuzz -- --cases 100000   # fewer
 *   FUZZ_SEED=123 npm run fuzz       # reproduce a run
 * Prints one line per property with its cases, time and seed; exits 1 with fast-check's counterexample on a failure.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  fuzzContext,
  mutatedRecordProperty,
  nearValidEventProperty,
  randomBytesProperty,
  randomJsonProperty,
  truncationProperty,
} from '../test/fuzz/properties.js';
import { registryRestProperty, ruleLoaderProperty } from '../test/fuzz/boundaries.js';
import { memoryRegistry } from '../test/unit/registry/helpers.js';

const casesArg = process.argv.indexOf('--cases');
const decoderCases = casesArg > 0 ? Number(process.argv[casesArg + 1]) : 1_000_000;
if (!Number.isInteger(decoderCases) || decoderCases < 1) {
  console.error(`--cases must be a positive whole number, got ${process.argv[casesArg + 1]}`);
  process.exit(2);
}
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const ctx = await fuzzContext();
const registry = await memoryRegistry();
await registry.register('s', { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] });
const rules = readFileSync(new URL('../test/fixtures/alerts/rules.yaml', import.meta.url), 'utf8');

const runs: Array<[string, fc.IAsyncProperty<never> | fc.IProperty<never>, number]> = [
  ['decoder: random bytes', randomBytesProperty(ctx) as never, Math.ceil(decoderCases / 2)],
  ['decoder: mutated records', mutatedRecordProperty(ctx) as never, Math.floor(decoderCases / 2)],
  ['decoder: every truncation', truncationProperty(ctx) as never, Math.max(1, Math.floor(decoderCases / 1000))],
  ['validation: random JSON', randomJsonProperty() as never, Math.max(1, Math.floor(decoderCases / 10))],
  ['validation: near-valid events', nearValidEventProperty() as never, Math.max(1, Math.floor(decoderCases / 10))],
  ['registry REST: random requests', registryRestProperty(registry) as never, Math.max(1, Math.floor(decoderCases / 10))],
  ['alert rule loader: random files', ruleLoaderProperty(rules) as never, Math.max(1, Math.floor(decoderCases / 10))],
];

let failed = false;
for (const [name, property, numRuns] of runs) {
  const started = process.hrtime.bigint();
  const details = await fc.check(property, { numRuns, seed });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (details.failed) {
    failed = true;
    console.log(`FAIL ${name} after ${details.numRuns} cases (seed ${seed}):\n${fc.defaultReportMessage(details)}`);
  } else {
    console.log(`ok   ${name}: ${details.numRuns.toLocaleString('en')} cases in ${seconds.toFixed(1)} s (seed ${seed})`);
  }
}
await registry.close();
process.exit(failed ? 1 : 0);
