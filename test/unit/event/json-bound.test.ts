import { describe, expect, it } from 'vitest';
import { inspectJson, validateEvent } from '../../../src/event/index.js';

/** A small seeded generator of JSON values full of the characters that serialise largest. */
function randomValue(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 4 ? 4 : 6));
  const chars = ['a', 'é', '€', '😀', '"', '\\', '\n', '\u0001', '\ud800', '\u2028'];
  const str = () => Array.from({ length: Math.floor(next() * 20) }, () => chars[Math.floor(next() * chars.length)]).join('');
  switch (pick) {
    case 0:
      return str();
    case 1:
      return [-1.2345678901234567e-308, 5e-324, Number.MAX_VALUE, -0, 123456789012345680000][Math.floor(next() * 5)];
    case 2:
      return next() < 0.5 ? null : next() < 0.5;
    case 3:
      return str();
    case 4:
      return Array.from({ length: Math.floor(next() * 5) }, () => randomValue(next, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: Math.floor(next() * 5) }, () => [str(), randomValue(next, depth + 1)]));
  }
}

describe('the JSON size bound of inspectJson', () => {
  it('is never below the real UTF-8 size of the JSON text', () => {
    let seed = 42;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2_000; i++) {
      const value = { m: randomValue(next) };
      const real = Buffer.byteLength(JSON.stringify(value), 'utf8');
      expect(inspectJson(value, 50).maxJsonBytes).toBeGreaterThanOrEqual(real);
    }
  });

  it('still lets validation find a state over 100 KB that only escapes make large', () => {
    // 20,000 control characters: 20 KB of text, 120 KB of JSON.
    const event = {
      event_id: '6f1c1a52-8f0e-4d7a-9b9e-0d3c2f1a4b5c',
      timestamp: '2026-11-23T18:00:00.000000Z',
      node_id: 'stamper_node-001',
      event_type: 'NODE_START',
      metadata: { input_state: { blob: '\u0001'.repeat(20_000) } },
    };
    const result = validateEvent(event, { mode: 'non-strict' });
    expect(result.valid).toBe(false);
    expect(result.errors.map((e) => e.code)).toContain('ONEX_VALID_105');
    expect(result.errors.some((e) => /metadata\.input_state is .* serialised, over the/.test(e.message))).toBe(true);
  });
});
