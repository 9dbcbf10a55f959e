import { describe, expect, it } from 'vitest';
import { inspectPage } from '../../../src/inspect/index.js';
import { resolveInspectOptions } from '../../../src/inspect/options.js';

const base = { kafka: {} as never, decoder: {} as never };

describe('inspect server options', () => {
  it('defaults, with the replay topic beside the events topic', () => {
    expect(resolveInspectOptions({ ...base, topic: 'orders' })).toMatchObject({ host: '127.0.0.1', port: 8088, topic: 'orders', indexTopic: 'onex.correlations', replayTopic: 'orders.replay' });
  });

  it('a bad option is ONEX_RT_407 naming it', () => {
    expect(() => resolveInspectOptions({ ...base, port: 70_000 })).toThrow(expect.objectContaining({ code: 'ONEX_RT_407', message: expect.stringContaining('port') }));
    expect(() => resolveInspectOptions({ ...base, indexTopic: '' })).toThrow(expect.objectContaining({ code: 'ONEX_RT_407', message: expect.stringContaining('indexTopic') }));
  });

  it('the page is one document with its script inline', () => {
    const html = inspectPage();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<script type="module">');
    expect(html).not.toMatch(/<script[^>]+src=/);
  });
});
