import { describe, expect, it } from 'vitest';
import { Batcher, type Batch, type Lane, type PendingRecord } from '../../../src/producer/batcher.js';
import { FAST_RECORD } from '../../../src/kafka/index.js';

let n = 0;
function rec(key: string, bytes = 100): PendingRecord {
  n++;
  return { message: { key, value: Buffer.alloc(0), headers: {}, keyHash: 0, [FAST_RECORD]: true as const }, keyText: key, bytes, eventType: 'NODE_START', eventId: `e${n}`, acceptedAt: Date.now(), settle: () => undefined };
}
function drain(b: Batcher): Batch[] {
  const out: Batch[] = [];
  for (let x = b.take(); x; x = b.take()) out.push(x);
  return out;
}

describe('Batcher', () => {
  it('seals a batch when it reaches max events, and keeps sealing order', () => {
    const b = new Batcher({ maxEvents: 3, maxBytes: 1_000_000, lingerMs: 10_000 }, () => undefined);
    for (let i = 0; i < 7; i++) b.add(rec(`k${i}`), 'plain');
    const out = drain(b);
    expect(out.map((x) => x.records.length)).toEqual([3, 3]);
    expect(out.map((x) => x.seq)).toEqual([1, 2]);
    expect(b.pendingRecords).toBe(1);
    expect(b.sealAll()).toBe(3);
    expect(drain(b).map((x) => x.records.length)).toEqual([1]);
  });

  it('seals before a record would push the batch over max bytes', () => {
    const b = new Batcher({ maxEvents: 100, maxBytes: 1_000, lingerMs: 10_000 }, () => undefined);
    b.add(rec('a', 600), 'plain');
    b.add(rec('b', 600), 'plain');
    b.add(rec('c', 2_000), 'plain'); // bigger than a batch: travels alone
    b.sealAll();
    expect(drain(b).map((x) => x.bytes)).toEqual([600, 600, 2_000]);
  });

  it('seals by age (linger) and tells the sender', async () => {
    let sealed = 0;
    const b = new Batcher({ maxEvents: 100, maxBytes: 1_000_000, lingerMs: 20 }, () => sealed++);
    b.add(rec('a'), 'plain');
    b.add(rec('b'), 'lz4');
    expect(sealed).toBe(0);
    await new Promise((r) => setTimeout(r, 60));
    expect(sealed).toBe(2);
    expect(drain(b).map((x) => x.lane).sort()).toEqual(['lz4', 'plain']);
  });

  it('hands consecutive small batches of one lane out as one, within the limits and without crossing lanes', async () => {
    const b = new Batcher({ maxEvents: 5, maxBytes: 1_000_000, lingerMs: 1 }, () => undefined);
    for (let round = 0; round < 4; round++) {
      b.add(rec(`p${round}`), 'plain');
      b.add(rec(`q${round}`), 'plain');
      await new Promise((r) => setTimeout(r, 5)); // each pair sealed by age while "a send is in flight"
    }
    b.add(rec('big'), 'lz4');
    b.sealAll();
    const out = drain(b);
    expect(out.map((x) => [x.lane, x.records.length])).toEqual([
      ['plain', 4],
      ['plain', 4],
      ['lz4', 1],
    ]);
    // The merged batch answers for the last seq it absorbed, so flush() waiters of either part are released.
    expect(out.map((x) => x.seq)).toEqual([2, 4, 5]);
  });

  it('keeps the lanes apart but a key in order across them', () => {
    const b = new Batcher({ maxEvents: 100, maxBytes: 1_000_000, lingerMs: 10_000 }, () => undefined);
    const order: Array<[string, Lane]> = [
      ['flow1', 'plain'],
      ['flow2', 'plain'],
      ['flow2', 'lz4'], // flow2 has a plain event pending: the plain batch must go first
      ['flow3', 'lz4'],
      ['flow1', 'plain'], // flow1 has nothing in lz4: stays in the open plain batch
      ['flow3', 'plain'], // flow3 pending in lz4: lz4 batch first
    ];
    const ids = order.map(([k, lane]) => {
      const r = rec(k);
      b.add(r, lane);
      return r.eventId;
    });
    b.sealAll();
    const sent = drain(b).flatMap((x) => x.records.map((r) => [r.keyText, r.eventId] as const));
    for (const key of ['flow1', 'flow2', 'flow3']) {
      const emitted = ids.filter((_, i) => order[i]![0] === key);
      expect(sent.filter(([k]) => k === key).map(([, id]) => id)).toEqual(emitted);
    }
  });
});
