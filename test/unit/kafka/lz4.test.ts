import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lz4Codec } from '../../../src/kafka/index.js';

describe("Kafka's LZ4 codec", () => {
  it('writes the LZ4 frame format Kafka expects (magic 0x184D2204, little endian) and reads it back', async () => {
    const input = Buffer.from('onex-event '.repeat(2_000));
    const frame = await lz4Codec.compress({ buffer: input });
    expect(frame.readUInt32LE(0)).toBe(0x184d2204);
    expect(frame.length).toBeLessThan(input.length / 10);
    expect((await lz4Codec.decompress(frame)).equals(input)).toBe(true);
  });

  it('round-trips incompressible and empty input', async () => {
    for (const input of [randomBytes(100_000), Buffer.alloc(0)]) {
      const frame = await lz4Codec.compress({ buffer: input });
      expect((await lz4Codec.decompress(frame)).equals(input)).toBe(true);
    }
  });

  it('refuses a corrupted frame instead of returning garbage', async () => {
    const frame = await lz4Codec.compress({ buffer: Buffer.from('x'.repeat(10_000)) });
    const broken = Buffer.from(frame);
    broken[4] = broken[4]! ^ 0xff; // the frame descriptor's flags
    await expect(lz4Codec.decompress(broken)).rejects.toThrow();
  });
});
