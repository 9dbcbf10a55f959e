import { describe, expect, it } from 'vitest';
import { memoryRegistry } from './helpers.js';

// Whatever a client sends, the server answers with a Confluent error body and a 4xx, never a 5xx, and keeps going.

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ATOMS: unknown[] = [null, true, 0, -1, 2 ** 53, 1.5, '', 'x', 'latest', '\u0000', 'record', '{', '"int"', [], {}];
const KEYS = ['schema', 'schemaType', 'references', 'compatibility', 'mode', 'type', 'name', 'fields', 'subject', 'version', '__proto__'];

function value(rand: () => number, depth = 0): unknown {
  const pick = rand();
  if (depth > 3 || pick < 0.4) return ATOMS[Math.floor(rand() * ATOMS.length)];
  if (pick < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => value(rand, depth + 1));
  if (pick < 0.75) return JSON.stringify(value(rand, depth + 1)); // a schema-looking string
  const obj: Record<string, unknown> = {};
  for (let i = Math.floor(rand() * 4); i > 0; i--) obj[KEYS[Math.floor(rand() * KEYS.length)]!] = value(rand, depth + 1);
  return obj;
}

const ROUTES: Array<[string, string]> = [
  ['POST', '/subjects/s/versions'],
  ['POST', '/subjects/s'],
  ['POST', '/compatibility/subjects/s/versions/latest'],
  ['POST', '/compatibility/subjects/s/versions'],
  ['PUT', '/config'],
  ['PUT', '/config/s'],
  ['PUT', '/mode/s'],
  ['DELETE', '/subjects/s/versions/%ff'],
  ['GET', '/subjects/s/versions/%2e%2e'],
  ['GET', '/schemas/ids/-1'],
];

describe('bad input never reaches a 5xx', () => {
  it('answers 400 random bodies on every write route with 2xx or 4xx and a Confluent error body', async () => {
    const reg = await memoryRegistry();
    await reg.register('s', { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] });
    const rand = prng(20261123);
    for (let i = 0; i < 400; i++) {
      const [method, url] = ROUTES[i % ROUTES.length]!;
      const raw = rand() < 0.15 ? '{"schema": "' + 'x'.repeat(Math.floor(rand() * 50)) : value(rand);
      const res = await reg.call(method, url, method === 'GET' || method === 'DELETE' ? undefined : raw);
      expect(res.status, `${method} ${url} ${JSON.stringify(raw)}`).toBeLessThan(500);
      if (res.status >= 400) expect(typeof res.body.error_code, `${method} ${url} ${JSON.stringify(raw)} -> ${res.status} ${res.text}`).toBe("number");
    }
    expect((await reg.call('GET', '/subjects/s/versions/1')).status).toBe(200);
    await reg.close();
  });
});
