import { describe, expect, it } from 'vitest';
import { EventIdDedupe, type HandlerContext } from '../../../src/worker/index.js';

const ctx = {} as HandlerContext;

describe('EventIdDedupe', () => {
  it('runs a handler once per event id, and again after a failed attempt', async () => {
    const d = new EventIdDedupe({ maxEntries: 10 });
    const calls: string[] = [];
    let fail = true;
    const h = d.wrap<{ event_id: string }>(async (e) => {
      calls.push(e.event_id);
      if (fail) {
        fail = false;
        throw new Error('first try fails');
      }
    });
    await expect(h({ event_id: 'a' }, ctx)).rejects.toThrow('first try fails');
    await h({ event_id: 'a' }, ctx);
    await h({ event_id: 'a' }, ctx);
    await h({ event_id: 'b' }, ctx);
    expect(calls).toEqual(['a', 'a', 'b']);
  });

  it('is bounded: the least recently seen id is forgotten first', () => {
    const d = new EventIdDedupe({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c']) d.remember(id);
    expect(d.has('a')).toBe(true); // a is recent again; b is now the oldest
    d.remember('d');
    expect(d.size).toBe(3);
    expect(d.has('b')).toBe(false);
    expect(d.has('a')).toBe(true);
    expect(d.has('c')).toBe(true);
    expect(d.has('d')).toBe(true);
  });

  it('refuses a window that is not a positive whole number', () => {
    expect(() => new EventIdDedupe({ maxEntries: 0 })).toThrow(RangeError);
  });
});
