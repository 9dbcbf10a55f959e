import kafkajs from 'kafkajs';
import lz4 from 'lz4';

const { CompressionCodecs, CompressionTypes } = kafkajs;

/**
 * Kafka's LZ4 codec for kafkajs. Kafka (since 0.10, KIP-57) writes record batches with the standard LZ4 frame format
 * (magic 0x184D2204, correct header checksum), which is exactly what the `lz4` package's encode/decode implement, so
 * batches we write are read by Kafka's Java clients and theirs by us (test/integration/kafka/lz4-java.test.ts).
 */
export const lz4Codec = {
  async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
    return lz4.encode(encoder.buffer);
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    return lz4.decode(buffer);
  },
};

/** Registers the codec with kafkajs (a process-wide table); safe to call any number of times. */
export function registerLz4Codec(): void {
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4Codec;
}
