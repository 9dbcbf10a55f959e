import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  COMPONENTS,
  EventError,
  ONEX_CODES,
  OnexError,
  asOnexError,
  isOnexCode,
  onexError,
  renderErrorsMarkdown,
  type Component,
} from '../../src/errors/index.js';

describe('ONEX error registry', () => {
  it('documents every code: docs/errors.md is the rendering of the registry', () => {
    const page = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    expect(page, 'run `npm run docs:errors` after changing src/errors/codes.ts').toBe(renderErrorsMarkdown());
    for (const code of Object.keys(ONEX_CODES)) expect(page).toContain(`| ${code} |`);
  });

  it('keeps every code inside its component range and in the ONEX format', () => {
    for (const [code, info] of Object.entries(ONEX_CODES)) {
      const m = /^ONEX_([A-Z]+)_(\d{3})$/.exec(code);
      expect(m, code).not.toBeNull();
      const component = m![1] as Component;
      expect(info.component).toBe(component);
      const [lo, hi] = COMPONENTS[component].range;
      expect(Number(m![2])).toBeGreaterThanOrEqual(lo);
      expect(Number(m![2])).toBeLessThanOrEqual(hi);
      expect(info.name.startsWith(`${code}_`)).toBe(true);
    }
  });

  it('keeps the protocol-registered codes with their registered meaning', () => {
    expect(ONEX_CODES.ONEX_EVENT_602).toMatchObject({ description: 'event too large', severity: 'ERROR', recoverable: 'No' });
    expect(ONEX_CODES.ONEX_REG_202).toMatchObject({ severity: 'CRITICAL', recoverable: 'No' });
    expect(ONEX_CODES.ONEX_SYS_903).toMatchObject({ description: 'timeout', recoverable: 'Retry' });
    expect(ONEX_CODES.ONEX_TELEM_500).toMatchObject({ severity: 'WARNING', recoverable: 'Yes' });
    expect(ONEX_CODES.ONEX_STAMP_001.name).toBe('ONEX_STAMP_001_FILE_NOT_FOUND');
  });

  it('builds the component subclass, carries code, severity, retriability and cause', () => {
    const cause = new Error('socket hang up');
    const err = onexError('ONEX_EVENT_612', 'the broker did not acknowledge within 30 s', { cause, details: { ms: 30000 } });
    expect(err).toBeInstanceOf(EventError);
    expect(err).toBeInstanceOf(OnexError);
    expect(err.name).toBe('EventError');
    expect(err.retriable).toBe(true);
    expect(err.cause).toBe(cause);
    expect(String(err)).toBe('ONEX_EVENT_612: the broker did not acknowledge within 30 s');
    expect(err.toJSON()).toMatchObject({ code: 'ONEX_EVENT_612', details: { ms: 30000 } });
    expect(onexError('ONEX_EVENT_602', 'too big').retriable).toBe(false);
  });

  it('wraps foreign errors but keeps an existing ONEX code', () => {
    const original = onexError('ONEX_VALID_103', 'node_id is missing');
    expect(asOnexError(original, 'ONEX_SYS_902')).toBe(original);
    const wrapped = asOnexError(new TypeError('boom'), 'ONEX_EVENT_603');
    expect(wrapped.code).toBe('ONEX_EVENT_603');
    expect(wrapped.message).toBe('boom');
    expect(isOnexCode('ONEX_EVENT_602')).toBe(true);
    expect(isOnexCode('ONEX_EVENT_699')).toBe(false);
  });
});
