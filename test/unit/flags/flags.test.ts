import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { describe, expect, it } from 'vitest';
import { isOnexError } from '../../../src/errors/index.js';
import { FLAG_DEFINITIONS, FileFlagProvider, flagEnvName, FlagSet, renderFlagsMarkdown } from '../../../src/flags/index.js';

let domains = 0;
const domain = () => `unit-flags-${process.pid}-${++domains}`;
const tempFile = (content: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'onex-flags-')), 'flags.json');
  writeFileSync(file, content);
  return file;
};

describe('feature flags', () => {
  it('docs/flags.md is the rendering of the definitions table', () => {
    const page = readFileSync(new URL('../../../docs/flags.md', import.meta.url), 'utf8');
    expect(page, 'run `npm run docs:flags` after changing src/flags/definitions.ts').toBe(renderFlagsMarkdown());
  });

  it('has one definition per key, each with a default of its kind and a documented reader', () => {
    const keys = FLAG_DEFINITIONS.map((d) => d.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const d of FLAG_DEFINITIONS) {
      expect(d.key).toMatch(/^onex\.[a-z0-9]+(\.[a-z0-9-]+)+$/);
      expect(typeof d.defaultValue).toBe(d.kind);
      expect(readFileSync(new URL(`../../../${d.readIn}`, import.meta.url), 'utf8')).toContain(`'${d.key}'`);
    }
    expect(keys).toEqual(expect.arrayContaining(['onex.producer.sampling', 'onex.producer.lz4', 'onex.producer.cloudevents']));
  });

  it('names the environment variable after the key', () => {
    expect(flagEnvName('onex.producer.lz4')).toBe('ONEX_FLAG_PRODUCER_LZ4');
    expect(flagEnvName('onex.alert.node-failure')).toBe('ONEX_FLAG_ALERT_NODE_FAILURE');
  });

  it('gives the defaults before any provider answers, and a fallback for unknown keys', () => {
    const set = new FlagSet({ domain: domain(), defaultProvider: () => new FileFlagProvider() });
    expect(set.isEnabled('onex.producer.lz4')).toBe(true);
    expect(set.isEnabled('onex.nothing.here')).toBe(false);
    expect(set.isEnabled('onex.nothing.here', true)).toBe(true);
  });

  it('reads the file, lets an environment variable pin a flag over it, and knows both synchronously', () => {
    const file = tempFile(JSON.stringify({ 'onex.producer.lz4': false, 'onex.producer.sampling': false }));
    const set = new FlagSet({ domain: domain(), defaultProvider: () => FileFlagProvider.fromEnv({ ONEX_FLAGS_FILE: file, ONEX_FLAG_PRODUCER_SAMPLING: 'on' }) });
    expect(set.isEnabled('onex.producer.lz4')).toBe(false);
    expect(set.isEnabled('onex.producer.sampling')).toBe(true);
  });

  it('refuses a flags file or variable of the wrong kind with ONEX_RT_408 naming it', () => {
    const bad = tempFile(JSON.stringify({ 'onex.producer.lz4': 'no' }));
    expect(() => new FileFlagProvider({ file: bad })).toThrow(/onex\.producer\.lz4 is a boolean flag/);
    try {
      new FileFlagProvider({ env: { ONEX_FLAG_PRODUCER_LZ4: 'maybe' } });
      expect.unreachable();
    } catch (err) {
      expect(isOnexError(err, 'ONEX_RT_408')).toBe(true);
      expect((err as Error).message).toContain('ONEX_FLAG_PRODUCER_LZ4=maybe');
    }
    expect(() => new FileFlagProvider({ file: tempFile('{ not json') })).toThrow(/cannot be read as JSON/);
  });

  it('tells listeners of a changed file, and keeps the last good values through a broken edit', async () => {
    const file = tempFile(JSON.stringify({ 'onex.producer.lz4': true }));
    const set = new FlagSet({ domain: domain() });
    await set.useProvider(new FileFlagProvider({ file }));
    const heard: boolean[] = [];
    const changed = new Promise<void>((resolve) => set.onChange<boolean>('onex.producer.lz4', (v) => (heard.push(v), resolve())));
    writeFileSync(file, '{ "onex.producer.lz4": ');
    writeFileSync(file, JSON.stringify({ 'onex.producer.lz4': false }));
    await changed;
    expect(heard).toEqual([false]);
    expect(set.isEnabled('onex.producer.lz4')).toBe(false);
    writeFileSync(file, '{ "onex.producer.lz4": ');
    await new Promise((r) => setTimeout(r, 200));
    expect(set.isEnabled('onex.producer.lz4')).toBe(false);
    await OpenFeature.clearProviders();
  });

  it('reads any OpenFeature provider an application installs', async () => {
    const d = domain();
    const provider = new InMemoryProvider({ 'onex.producer.cloudevents': { variants: { on: true, off: false }, defaultVariant: 'off', disabled: false } });
    await OpenFeature.setProviderAndWait(d, provider);
    const set = new FlagSet({ domain: d, defaultProvider: () => { throw new Error('the installed provider must be kept'); } });
    set.isEnabled('onex.producer.cloudevents');
    await set.refresh();
    expect(set.isEnabled('onex.producer.cloudevents')).toBe(false);
    const flipped = new Promise<boolean>((resolve) => set.onChange<boolean>('onex.producer.cloudevents', resolve));
    provider.putConfiguration({ 'onex.producer.cloudevents': { variants: { on: true, off: false }, defaultVariant: 'on', disabled: false } });
    expect(await flipped).toBe(true);
  });
});
