import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OnexError } from '../../../src/event/index.js';
import { HandlerRouter, loadHandlerModule } from '../../../src/worker/index.js';

const fixtures = fileURLToPath(new URL('../../fixtures/handlers/', import.meta.url));

describe('HandlerRouter', () => {
  const a = () => undefined;
  const all = () => undefined;

  it('routes a type to its handler, else to the catch-all; unknown types are marked', () => {
    const r = new HandlerRouter({ NODE_START: a, '*': all });
    expect(r.route('NODE_START')).toEqual({ handler: a, known: true });
    expect(r.route('NODE_SUCCESS')).toEqual({ handler: all, known: true });
    expect(r.route('UNKNOWN')).toEqual({ handler: all, known: false });
    expect(r.route('SOMETHING_NEW')).toEqual({ handler: all, known: false });
    expect(r.route(undefined)).toEqual({ handler: all, known: false });
  });

  it('refuses a handler for a type ONEX does not have (a typo would silently never run)', () => {
    expect(() => new HandlerRouter({ NODE_STRAT: a } as never)).toThrow(/NODE_STRAT/);
    expect(() => new HandlerRouter({ NODE_START: 'x' } as never)).toThrow(OnexError);
  });
});

describe('loadHandlerModule', () => {
  it('loads `export const handlers` with its target version', async () => {
    const m = await loadHandlerModule('named.mjs', fixtures);
    expect(Object.keys(m.handlers)).toEqual(['NODE_START', '*']);
    expect(m.targetVersion).toBe('1.3.0');
  });

  it('takes a default function as the catch-all', async () => {
    const m = await loadHandlerModule(`${fixtures}default-function.mjs`);
    expect(Object.keys(m.handlers)).toEqual(['*']);
    expect(m.targetVersion).toBeUndefined();
  });

  it.each([
    ['missing.mjs', 'ONEX_CLI_300', /does not exist/],
    ['empty.mjs', 'ONEX_CLI_303', /exports no handlers/],
    ['bad-type.mjs', 'ONEX_CLI_303', /NODE_STRAT/],
  ])('%s fails with %s', async (file, code, text) => {
    const err = await loadHandlerModule(file, fixtures).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnexError);
    expect((err as OnexError).code).toBe(code);
    expect((err as OnexError).message).toMatch(text);
  });
});
