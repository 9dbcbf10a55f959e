import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newShared, Win, winOf, type PlainWin } from '../../../src/processors/alerting/entry.js';

/**
 * A window's lists are views over append-only arrays shared between versions of the window and between windows fed
 * by the same event (src/processors/alerting/entry.ts). The property: whatever the windows do, each reads exactly what
 * a window of its own plain arrays would, and a copy taken earlier (what the undo log keeps) still reads what it read
 * then.
 */

type Op =
  | { op: 'event'; dt: number; hit: boolean; windows: number[]; corr: string | undefined }
  | { op: 'drop'; w: number; n: number }
  | { op: 'late'; w: number; back: number; hit: boolean }
  | { op: 'copy'; w: number };

const WINDOWS = 4;
const MAX_CORR = 5;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('event' as const), dt: fc.nat(3), hit: fc.boolean(), windows: fc.subarray([0, 1, 2, 3], { minLength: 1 }), corr: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('drop' as const), w: fc.nat(WINDOWS - 1), n: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('late' as const), w: fc.nat(WINDOWS - 1), back: fc.integer({ min: 1, max: 4 }), hit: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('copy' as const), w: fc.nat(WINDOWS - 1) }) },
);

/** Windows 0 and 1 keep hits (ratio), 2 and 3 do not (threshold); all keep correlation ids. */
const withHits = (i: number) => i < 2;

function plain(i: number): PlainWin {
  return { t: [], ...(withHits(i) ? { hit: [] } : {}), corr: [] };
}

function read(w: Win): PlainWin {
  const j = w.toJSON();
  return { t: j.t, ...(j.hit !== undefined ? { hit: j.hit } : {}), corr: j.corr };
}

describe('alert windows as views over shared append-only arrays', () => {
  it('read as plain arrays would, and an earlier copy keeps reading what it read then', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const live = Array.from({ length: WINDOWS }, (_, i) => winOf(plain(i)));
        const model = Array.from({ length: WINDOWS }, (_, i) => plain(i));
        const copies: { win: Win; was: PlainWin }[] = [];
        let now = 0;
        for (const o of ops) {
          if (o.op === 'event') {
            now += o.dt;
            const shared = newShared();
            for (const i of o.windows) {
              const hit = withHits(i) ? o.hit : undefined;
              live[i]!.pushT(now, hit, shared);
              model[i]!.t.push(now);
              if (hit !== undefined) model[i]!.hit!.push(hit);
              if (o.corr !== undefined) {
                live[i]!.pushC(o.corr, MAX_CORR, shared);
                const m = model[i]!;
                if (!m.corr.includes(o.corr)) {
                  m.corr.push(o.corr);
                  if (m.corr.length > MAX_CORR) m.corr.shift();
                }
              }
            }
          } else if (o.op === 'drop') {
            const n = Math.min(o.n, model[o.w]!.t.length);
            live[o.w]!.dropT(n);
            model[o.w]!.t.splice(0, n);
            model[o.w]!.hit?.splice(0, n);
          } else if (o.op === 'late') {
            const m = model[o.w]!;
            const t = now - o.back;
            let at = m.t.length;
            while (at > 0 && m.t[at - 1]! > t) at--;
            if (at === m.t.length) continue; // not late for this window: the engine appends instead
            const hit = withHits(o.w) ? o.hit : undefined;
            live[o.w]!.insertT(at, t, hit);
            m.t.splice(at, 0, t);
            if (hit !== undefined) m.hit!.splice(at, 0, hit);
          } else {
            // The undo log keeps the stored version; the event goes on with a copy of it.
            copies.push({ win: live[o.w]!, was: structuredClone(model[o.w]!) });
            live[o.w] = live[o.w]!.copy();
          }
          for (let i = 0; i < WINDOWS; i++) expect(read(live[i]!)).toEqual(model[i]);
        }
        for (const c of copies) expect(read(c.win)).toEqual(c.was);
      }),
      { numRuns: 300 },
    );
  });
});
