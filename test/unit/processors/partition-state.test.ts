import { describe, expect, it } from 'vitest';
import { PartitionState, type EvictionReason } from '../../../src/processors/index.js';
import { TimerQueue } from '../../../src/processors/timer-queue.js';

describe('PartitionState', () => {
  it('evicts the least recently written key past maxKeys and counts it', () => {
    const evicted: Array<[string, EvictionReason]> = [];
    const s = new PartitionState({ allowedLatenessMs: 0, stores: { a: { maxKeys: 2 } }, onEvict: (store, reason) => evicted.push([store, reason]) });
    const a = s.store<number>('a');
    a.put('x', 1);
    a.put('y', 2);
    a.put('x', 3);
    a.put('z', 4);
    expect([...a.keys()]).toEqual(['x', 'z']);
    expect(evicted).toEqual([['a', 'lru']]);
  });

  it('expires a key written more than ttlMs behind the watermark, on read and on sweep', () => {
    const evicted: EvictionReason[] = [];
    const s = new PartitionState({ allowedLatenessMs: 1_000, stores: { a: { ttlMs: 5_000 } }, onEvict: (_s, r) => evicted.push(r) });
    const a = s.store<number>('a');
    s.observe(10_000);
    a.put('old', 1);
    s.observe(14_000);
    a.put('new', 2);
    s.observe(15_999); // watermark 14_999: 'old' (written at 10_000) has 1 ms left
    expect(a.get('old')).toBe(1);
    s.observe(16_000);
    expect(a.get('old')).toBeUndefined();
    s.observe(21_000);
    s.sweep();
    expect(a.size).toBe(0);
    expect(evicted).toEqual(['ttl', 'ttl']);
  });

  it('rolls back state, timers and the clock of an aborted batch, and reports one change per key otherwise', () => {
    const s = new PartitionState({ allowedLatenessMs: 0 });
    const a = s.store<number>('a');
    a.put('k', 1);
    s.setTimer('t1', 50);
    s.observe(10);
    s.settle();
    a.put('k', 2);
    a.put('k', 3);
    a.delete('k');
    a.put('j', 9);
    s.setTimer('t1', 70);
    s.observe(40);
    expect(s.pendingChanges().map((c) => [c.store, c.key, c.entry?.v])).toEqual([
      ['a', 'k', undefined],
      ['a', 'j', 9],
      ['__timers', 't1', 70],
      ['__clock', 'max_event_time', 40],
    ]);
    s.rollback();
    expect(a.get('k')).toBe(1);
    expect(a.has('j')).toBe(false);
    expect(s.timers.get('t1')).toBe(50);
    expect(s.streamTime).toBe(10);
    expect(s.changed()).toBe(false);
  });

  it('a restored state (its changelog applied) has the same keys, timers and clock', () => {
    const s = new PartitionState({ allowedLatenessMs: 0 });
    s.store('a').put('k', { n: 1 });
    s.observe(100);
    s.setTimer('t', 200);
    const copy = new PartitionState({ allowedLatenessMs: 0 });
    for (const c of s.pendingChanges()) copy.apply(JSON.parse(JSON.stringify(c)));
    expect(copy.store('a').get('k')).toEqual({ n: 1 });
    expect(copy.streamTime).toBe(100);
    expect(copy.timers.get('t')).toBe(200);
    expect(copy.entries()).toBe(1);
  });

  it('hands out due timers earliest first, once each', () => {
    const s = new PartitionState({ allowedLatenessMs: 0 });
    s.setTimer('b', 20);
    s.setTimer('a', 10);
    s.setTimer('c', 30);
    s.setTimer('b', 25);
    s.cancelTimer('c');
    s.observe(100);
    const fired: string[] = [];
    for (let t = s.nextDueTimer(); t; t = s.nextDueTimer()) fired.push(`${t.id}@${t.at}`);
    expect(fired).toEqual(['a@10', 'b@25']);
  });
});

describe('TimerQueue', () => {
  it('orders many timers and skips moved ones', () => {
    const q = new TimerQueue();
    for (let i = 0; i < 500; i++) q.set(`t${i}`, (i * 7919) % 1000);
    for (let i = 0; i < 500; i += 2) q.set(`t${i}`, 5_000 + i);
    const order: number[] = [];
    for (let s = q.popDue(10_000); s; s = q.popDue(10_000)) order.push(s.at);
    expect(order).toHaveLength(500);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});
