import { describe, expect, it } from 'vitest';
import { isOnexError } from '../../../src/errors/index.js';
import { ProducerBuffer } from '../../../src/producer/buffer.js';

describe('ProducerBuffer', () => {
  it('holds at most maxBytes and reports the level', () => {
    const levels: number[] = [];
    const b = new ProducerBuffer(1_000, 50, (u) => levels.push(u));
    expect(b.tryReserve(600)).toBe(true);
    expect(b.tryReserve(600)).toBe(false);
    b.release(600);
    expect(b.tryReserve(1_000)).toBe(true);
    expect(levels).toEqual([600, 0, 1_000]);
  });

  it('blocks a caller until space frees, in arrival order, and a newcomer does not overtake', async () => {
    const b = new ProducerBuffer(1_000, 5_000);
    b.tryReserve(900);
    const admitted: string[] = [];
    const first = b.reserve(500).then(() => admitted.push('first'));
    const second = b.reserve(100).then(() => admitted.push('second'));
    expect(b.tryReserve(50)).toBe(false); // would fit, but two callers wait
    expect(b.waiting).toBe(2);
    b.release(900);
    await Promise.all([first, second]);
    expect(admitted).toEqual(['first', 'second']);
    expect(b.usedBytes).toBe(600);
  });

  it('rejects a blocked caller with ONEX_EVENT_608 after the block timeout', async () => {
    const b = new ProducerBuffer(1_000, 30);
    b.tryReserve(1_000);
    const err = await b.reserve(10).catch((e: unknown) => e);
    expect(isOnexError(err, 'ONEX_EVENT_608')).toBe(true);
    expect((err as Error).message).toMatch(/1000 of 1000 bytes.*waited 30 ms/);
    expect(b.waiting).toBe(0);
  });
});
