import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSIONS, type SchemaVersion } from '../../../src/event/index.js';
import { DEFAULT_CHAIN, TransformChain, defaultSteps, transformEvent, type TransformStep } from '../../../src/schema/index.js';
import { failure } from './support.js';

const without = (from: string, to: string) => defaultSteps().filter((s) => !(s.from === from && s.to === to));

describe('TransformChain', () => {
  it('routes single steps both ways through the default chain', () => {
    expect(DEFAULT_CHAIN.route('1.0.0', '2.0.0').map((s) => `${s.from}>${s.to}`)).toEqual(['1.0.0>1.1.0', '1.1.0>1.2.0', '1.2.0>1.3.0', '1.3.0>2.0.0']);
    expect(DEFAULT_CHAIN.route('2.0.0', '1.1.0').map((s) => `${s.from}>${s.to}`)).toEqual(['2.0.0>1.3.0', '1.3.0>1.2.0', '1.2.0>1.1.0']);
    expect(DEFAULT_CHAIN.route('1.2.0', '1.2.0')).toEqual([]);
    expect(DEFAULT_CHAIN.exitVersion('1.0.0', '2.0.0')).toBe('1.3.0');
    expect(DEFAULT_CHAIN.exitVersion('2.0.0', '1.0.0')).toBe('2.0.0');
    expect(DEFAULT_CHAIN.exitVersion('1.1.0', '1.3.0')).toBe('1.3.0');
  });

  it('collapses a run of MINOR steps into one stage but keeps MAJOR steps as functions', () => {
    expect(DEFAULT_CHAIN.compile('1.0.0', '2.0.0').steps).toHaveLength(4);
    expect(DEFAULT_CHAIN.compile('1.0.0', '2.0.0')).toBe(DEFAULT_CHAIN.compile('1.0.0', '2.0.0'));
  });

  it('rejects a gap', () => {
    expect(failure(() => TransformChain.build(without('1.1.0', '1.2.0')))).toBe(
      'ONEX_SCHEMA_703: The transform chain is invalid: there is no step from 1.1.0 to 1.2.0 (a gap).',
    );
    expect(failure(() => TransformChain.build(without('2.0.0', '1.3.0')))).toMatch(/^ONEX_SCHEMA_703: .*no step from 2\.0\.0 to 1\.3\.0 \(a gap\)/);
  });

  it('rejects a duplicate step', () => {
    expect(failure(() => TransformChain.build([...defaultSteps(), { from: '1.0.0', to: '1.1.0' }]))).toMatch(/^ONEX_SCHEMA_703: .*1\.0\.0 -> 1\.1\.0 is registered twice/);
  });

  it('rejects a cycle and a step that skips a version', () => {
    expect(failure(() => TransformChain.build([...defaultSteps(), { from: '1.2.0', to: '1.2.0' }]))).toMatch(/^ONEX_SCHEMA_703: .*a cycle/);
    expect(failure(() => TransformChain.build([...defaultSteps(), { from: '1.0.0', to: '1.2.0' }]))).toMatch(/^ONEX_SCHEMA_703: .*skips a version/);
  });

  it('wants a function on MAJOR steps and none on MINOR steps', () => {
    const noFn = [...without('1.3.0', '2.0.0'), { from: '1.3.0', to: '2.0.0' } as TransformStep];
    expect(failure(() => TransformChain.build(noFn))).toMatch(/^ONEX_SCHEMA_703: .*MAJOR step 1\.3\.0 -> 2\.0\.0 has no transform function/);
    const fn = [...without('1.1.0', '1.2.0'), { from: '1.1.0', to: '1.2.0', transform: (e) => e } as TransformStep];
    expect(failure(() => TransformChain.build(fn))).toMatch(/^ONEX_SCHEMA_703: .*MINOR step 1\.1\.0 -> 1\.2\.0 has a transform function/);
  });

  it('rejects unknown versions and a version list out of order', () => {
    expect(failure(() => TransformChain.build([...defaultSteps(), { from: '1.3.0', to: '1.4.0' as SchemaVersion }]))).toMatch(/^ONEX_SCHEMA_704/);
    expect(failure(() => TransformChain.build(defaultSteps(), ['1.1.0', '1.0.0'] as SchemaVersion[]))).toMatch(/^ONEX_SCHEMA_703: .*ascending/);
    expect(failure(() => TransformChain.build(defaultSteps(), ['1.0.0', '1.0.0'] as SchemaVersion[]))).toMatch(/^ONEX_SCHEMA_703: .*duplicates/);
  });

  it('accepts a chain over a subset of versions', () => {
    const steps = defaultSteps().filter((s) => s.from !== '1.0.0' && s.to !== '1.0.0');
    const chain = TransformChain.build(steps, SCHEMA_VERSIONS.slice(1));
    expect(chain.route('1.1.0', '2.0.0')).toHaveLength(3);
  });

  it('runs the registered MAJOR functions, and wraps their failures in ONEX_SCHEMA_702', () => {
    const seen: string[] = [];
    const steps = defaultSteps().map((s) =>
      s.transform ? { ...s, transform: (e: Parameters<NonNullable<TransformStep['transform']>>[0]) => (seen.push(`${s.from}>${s.to}`), s.transform!(e)) } : s,
    );
    const chain = TransformChain.build(steps);
    const event = { event_id: '00000000-0000-4000-8000-000000000004', timestamp: '2025-01-01T00:00:00.000000Z', node_id: 'n', event_type: 'STRUCTURED_LOG' };
    const v2 = transformEvent(event, '2.0.0', chain);
    transformEvent(v2, '1.0.0', chain);
    expect(seen).toEqual(['1.3.0>2.0.0', '2.0.0>1.3.0']);

    const broken = TransformChain.build(
      defaultSteps().map((s) => (s.from === '1.3.0' && s.to === '2.0.0' ? { ...s, transform: () => { throw new TypeError('boom'); } } : s)),
    );
    expect(failure(() => transformEvent(event, '2.0.0', broken))).toBe('ONEX_SCHEMA_702: The 1.3.0 -> 2.0.0 transform failed: boom');
  });
});
