import type { ICustomPartitioner } from 'kafkajs';

/**
 * Key-hash partitioning exactly as Kafka's Java client and kafkajs's DefaultPartitioner do it, (murmur2(key) &
 * 0x7fffffff) % partitions, so a flow lands on the same partition whichever client wrote it. kafkajs computes murmur2
 * with a 64-bit Long emulation and filters the partition list for every message; on 1 KB events that was about a
 * sixth of kafkajs's time, so the producer hashes each key once with 32-bit integer arithmetic and hands the hash
 * along on the record.
 */

/** Kafka's murmur2 (Utils.murmur2) of the first `length` bytes of `data`, signed 32-bit result. */
export function murmur2(data: Uint8Array, length = data.length): number {
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Where murmur2Text puts an ASCII key's bytes (keys are event or correlation ids: tens of bytes). */
const scratch = new Uint8Array(256);

/**
 * murmur2 of a key's UTF-8 bytes, given the key as text: an ASCII key (event ids, most correlation ids) is copied into
 * a reused scratch array instead of a Buffer made per key.
 */
export function murmur2Text(key: string): number {
  const length = key.length;
  if (length > scratch.length || Buffer.byteLength(key, 'utf8') !== length) return murmur2(Buffer.from(key, 'utf8'));
  for (let i = 0; i < length; i++) scratch[i] = key.charCodeAt(i);
  return murmur2(scratch, length);
}

/** The partition of a key among `partitions`, as the Java client chooses it. */
export function partitionOf(keyHash: number, partitions: number): number {
  return (keyHash & 0x7fffffff) % partitions;
}

/** A kafkajs partitioner for records that carry `keyHash` (every OnexProducer record does); others are hashed here. */
export const KeyHashPartitioner: ICustomPartitioner = () => ({ partitionMetadata, message }) => {
  const m = message as { partition?: number | null; keyHash?: number; key?: Buffer | string | null };
  if (m.partition !== null && m.partition !== undefined) return m.partition;
  const hash = m.keyHash ?? murmur2(Buffer.isBuffer(m.key) ? m.key : Buffer.from(String(m.key ?? '')));
  return partitionOf(hash, partitionMetadata.length);
};
