import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import {
  fuzzContext,
  mutatedRecordProperty,
  nearValidEventProperty,
  randomBytesProperty,
  randomJsonProperty,
  truncationProperty,
  type FuzzContext,
} from '../../fuzz/properties.js';

// A short run of the properties of test/fuzz/properties.ts on every test run; `npm run fuzz` runs them long. A seed
// from the environment (FUZZ_SEED) reproduces a failure fast-check reported.
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const runs = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, seed });

describe('decoder fuzzing: a decoded event or an OnexError, never a crash', () => {
  let ctx: FuzzContext;
  beforeAll(async () => {
    ctx = await fuzzContext();
  });
  it('random bytes, framed and not', async () => {
    await fc.assert(randomBytesProperty(ctx), runs(3000));
  });
  it('valid records with bytes flipped, set, inserted and removed', async () => {
    await fc.assert(mutatedRecordProperty(ctx), runs(2000));
  });
  it('every truncation of a valid record is refused with a code', async () => {
    await fc.assert(truncationProperty(ctx), runs(60));
  });
});

describe('validation fuzzing: a verdict with typed errors, never a throw', () => {
  it('random JSON values', () => {
    fc.assert(randomJsonProperty(), runs(3000));
  });
  it('near-valid events: one envelope field replaced or removed', () => {
    fc.assert(nearValidEventProperty(), runs(3000));
  });
});
