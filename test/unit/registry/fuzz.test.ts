import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { registryRestProperty, ruleLoaderProperty } from '../../fuzz/boundaries.js';
import { memoryRegistry } from './helpers.js';

// A short run of the REST and rule-loader properties of test/fuzz/boundaries.ts; `npm run fuzz` runs them long.
// FUZZ_SEED reproduces a failure fast-check reported.
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

describe('registry REST fuzzing: never a 5xx, always a Confluent error body', () => {
  it('random methods, paths, queries, headers and bodies', async () => {
    const reg = await memoryRegistry();
    await reg.register('s', { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] });
    await fc.assert(registryRestProperty(reg), { numRuns: 1500, seed });
    // Still serving after the storm (which may have deleted anything, so a fresh subject shows it): a new
    // registration is stored and read back by its id.
    // The storm may have left the registry READONLY (PUT /mode is one of its requests): writable again first.
    expect((await reg.call('PUT', '/mode?force=true', { mode: 'READWRITE' })).status).toBe(200);
    const added = await reg.register('after-the-fuzz', { type: 'record', name: 'After', fields: [{ name: 'b', type: 'long' }] });
    expect(added.status).toBe(200);
    const read = await reg.call('GET', `/schemas/ids/${added.body.id}`);
    expect(read.status).toBe(200);
    expect(JSON.parse(read.body.schema).name).toBe('After');
    await reg.close();
  });
});

describe('alert rule loader fuzzing: rules or coded, located problems, never a crash', () => {
  it('random text, random YAML values and valid rule files with fields changed', () => {
    const valid = readFileSync(new URL('../../fixtures/alerts/rules.yaml', import.meta.url), 'utf8');
    fc.assert(ruleLoaderProperty(valid), { numRuns: 1500, seed });
  });
});
