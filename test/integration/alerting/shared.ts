import { afterAll, beforeAll } from 'vitest';
import type { Processor } from '../../../src/processors/index.js';
import { startPipeline, type Pipeline } from '../worker/pipeline.js';

/**
 * The pipeline (broker connection, registry, codec) of one test file, started before its tests, and the processors
 * those tests start: every one is stopped after the file, even when a test failed before stopping its own.
 */
export function usePipeline(): { readonly p: Pipeline; readonly processors: Processor[] } {
  const shared = { p: undefined as unknown as Pipeline, processors: [] as Processor[] };
  beforeAll(async () => {
    shared.p = await startPipeline();
  });
  afterAll(async () => {
    await Promise.allSettled(shared.processors.map((x) => x.stop()));
    await shared.p?.close();
  });
  return shared;
}
