import { FAST_RECORD, type RecordInput } from '../../src/kafka/record-batch.js';
import { seededRandom } from '../../src/dev/index.js';

/** Random records of every shape kafkajs accepts: Buffer or string or null keys and values, array headers, unicode. */
export function randomRecords(seed: number, n: number): RecordInput[] {
  const r = seededRandom(seed);
  const text = (len: number) => Array.from({ length: len }, () => (r() < 0.1 ? 'é€😀'[Math.floor(r() * 3)] : String.fromCharCode(97 + Math.floor(r() * 26)))).join('');
  const bytes = (len: number) => Buffer.from(Array.from({ length: len }, () => Math.floor(r() * 256)));
  const field = (max: number) => {
    const pick = r();
    if (pick < 0.1) return null;
    const len = Math.floor(r() * max);
    return pick < 0.5 ? text(len) : bytes(len);
  };
  return Array.from({ length: n }, () => {
    const headers: Record<string, Buffer | string | Array<Buffer | string>> = {};
    const count = Math.floor(r() * 4);
    for (let h = 0; h < count; h++) headers[`h-${text(1 + Math.floor(r() * 12))}`] = r() < 0.2 ? [text(5), bytes(3)] : r() < 0.5 ? text(Math.floor(r() * 80)) : bytes(Math.floor(r() * 300));
    return {
      key: field(40),
      // Sizes around the varint boundaries (63/64, 8191/8192 zig-zag) and far over kafkajs's 512-byte first buffer.
      value: r() < 0.2 ? bytes(8190 + Math.floor(r() * 4)) : field(2_000),
      headers: count === 0 && r() < 0.5 ? undefined : headers,
      [FAST_RECORD]: true,
    };
  });
}

