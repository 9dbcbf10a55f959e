import { Socket } from 'node:net';

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' | `unknown(${number})`;

export interface RecordBatchHeader {
  baseOffset: bigint;
  magic: number;
  compression: Compression;
  recordCount: number;
  sizeBytes: number;
}

const CODECS: Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/**
 * Reads the record batch headers of a partition exactly as the broker stores them, with a hand-written Fetch v4
 * request over a plain socket. kafkajs hides a batch's attributes (its compression codec among them), and tests must
 * see what is on the wire, not what a client decoded. `broker` must be the partition's leader.
 */
export async function fetchRecordBatchHeaders(
  broker: string,
  topic: string,
  partition = 0,
  fetchOffset = 0n,
  maxBytes = 64 * 1024 * 1024,
): Promise<RecordBatchHeader[]> {
  const body = await request(broker, 1, 4, (w) => {
    w.int32(-1); // replica_id: a consumer
    w.int32(500); // max_wait_ms
    w.int32(1); // min_bytes
    w.int32(maxBytes);
    w.int8(0); // isolation_level: read uncommitted
    w.int32(1);
    w.string(topic);
    w.int32(1);
    w.int32(partition);
    w.int64(fetchOffset);
    w.int32(maxBytes);
  });
  const r = new Reader(body);
  r.int32(); // throttle_time_ms
  const topics = r.int32();
  const batches: RecordBatchHeader[] = [];
  for (let t = 0; t < topics; t++) {
    r.string();
    const partitions = r.int32();
    for (let p = 0; p < partitions; p++) {
      r.int32(); // partition_index
      const errorCode = r.int16();
      if (errorCode !== 0) throw new Error(`Fetch of ${topic}/${partition} failed with Kafka error code ${errorCode}`);
      r.int64(); // high_watermark
      r.int64(); // last_stable_offset
      const aborted = r.int32();
      for (let a = 0; a < aborted; a++) {
        r.int64();
        r.int64();
      }
      const size = r.int32();
      if (size <= 0) continue;
      const records = r.bytes(size);
      for (let pos = 0; pos + 61 <= records.length; ) {
        const batchLength = records.readInt32BE(pos + 8);
        const total = 12 + batchLength;
        if (pos + total > records.length) break; // a partial batch at the end of the response
        const attributes = records.readInt16BE(pos + 21);
        batches.push({
          baseOffset: records.readBigInt64BE(pos),
          magic: records.readInt8(pos + 16),
          compression: CODECS[attributes & 0x07] ?? `unknown(${attributes & 0x07})`,
          recordCount: records.readInt32BE(pos + 57),
          sizeBytes: total,
        });
        pos += total;
      }
    }
  }
  return batches;
}

class Writer {
  private parts: Buffer[] = [];
  int8(v: number) {
    const b = Buffer.alloc(1);
    b.writeInt8(v);
    this.parts.push(b);
  }
  int16(v: number) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
  }
  int32(v: number) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
  }
  int64(v: bigint) {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    this.parts.push(b);
  }
  string(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.int16(b.length);
    this.parts.push(b);
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  int16() {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32() {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64() {
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  string() {
    const n = this.int16();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(n: number) {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** One request/response on a fresh connection (request header v1, response header v0). */
function request(broker: string, apiKey: number, apiVersion: number, fill: (w: Writer) => void): Promise<Buffer> {
  const [host, port] = broker.split(':') as [string, string];
  const w = new Writer();
  w.int16(apiKey);
  w.int16(apiVersion);
  w.int32(1); // correlation id
  w.string('onex-test-batch-reader');
  fill(w);
  const payload = w.build();
  const frame = Buffer.alloc(4 + payload.length);
  frame.writeInt32BE(payload.length);
  payload.copy(frame, 4);
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    let received = 0;
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no Fetch response from ${broker} within 15 s`)));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
      const all = Buffer.concat(chunks);
      if (received >= 4 && received >= 4 + all.readInt32BE(0)) {
        socket.end();
        resolve(all.subarray(8, 4 + all.readInt32BE(0))); // skip size and correlation id
      }
    });
    socket.connect(Number(port), host, () => socket.write(frame));
  });
}
