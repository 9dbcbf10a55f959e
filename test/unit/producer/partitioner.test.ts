import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyHashPartitioner, murmur2, murmur2Text, partitionOf } from '../../../src/producer/partitioner.js';

// kafkajs's own murmur2 (a port of the Java client's): ours must agree with it bit for bit.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

describe('murmur2 and the key-hash partitioner', () => {
  it('equals Kafka\'s murmur2 (kafkajs\'s port of the Java client) on keys of every length and byte', () => {
    for (let len = 0; len <= 64; len++) {
      for (let i = 0; i < 40; i++) {
        const key = randomBytes(len);
        expect(murmur2(key)).toBe(kafkajsMurmur2(key));
      }
    }
    for (const text of ['21', 'foobar', 'a-little-bit-long-string', '5b0e3c1e-1f2a-4c3b-9d4e-5f6a7b8c9d0e', 'ü€😀']) {
      expect(murmur2(Buffer.from(text))).toBe(kafkajsMurmur2(Buffer.from(text)));
    }
  });

  it('hashes a key given as text as its UTF-8 bytes: ASCII of every length, past the scratch array, and non-ASCII', () => {
    const ascii = (len: number) => Array.from({ length: len }, (_, i) => String.fromCharCode(32 + ((i * 37 + len) % 95))).join('');
    for (const text of [...Array.from({ length: 300 }, (_, len) => ascii(len)), 'ü€😀', 'corr-é-1', '\u007f\u0080', 'a\ud800b']) {
      expect(murmur2Text(text)).toBe(kafkajsMurmur2(Buffer.from(text, 'utf8')));
    }
    // The scratch array is reused: a long key followed by a short one must not see the long key's bytes.
    expect(murmur2Text(ascii(200))).toBe(kafkajsMurmur2(Buffer.from(ascii(200))));
    expect(murmur2Text('ab')).toBe(kafkajsMurmur2(Buffer.from('ab')));
  });

  it('chooses the partition the Java client would, from the hash on the record or from the key', () => {
    const partitioner = KeyHashPartitioner();
    const partitionMetadata = [0, 1, 2, 3, 4, 5].map((partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0, offlineReplicas: [] }));
    for (let i = 0; i < 500; i++) {
      const key = Buffer.from(`corr-${i}`);
      const expected = (kafkajsMurmur2(key) & 0x7fffffff) % 6;
      expect(partitioner({ topic: 't', partitionMetadata, message: { key, value: null } })).toBe(expected);
      expect(partitioner({ topic: 't', partitionMetadata, message: { key, value: null, keyHash: murmur2(key) } as never })).toBe(expected);
      expect(partitionOf(murmur2(key), 6)).toBe(expected);
    }
    expect(partitioner({ topic: 't', partitionMetadata, message: { key: Buffer.from('x'), value: null, partition: 4 } })).toBe(4);
  });
});
