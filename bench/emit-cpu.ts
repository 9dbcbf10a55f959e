/**
 * CPU per emit of OnexProducer's own path with the Kafka I/O cut off, the part that runs synchronously on the caller's
 * event loop: emit() (fill, validate, sample, Avro, headers, batcher) and, per batch, the one-pass Produce request
 * encoding (src/kafka/record-batch.ts) over the batch's records split into 4 partitions, then the acknowledgements.
 * The producer's private sender is replaced for that (no broker, no kafkajs send path), so this is not a throughput
 * figure: it is what moves when the producer's per-event work changes, without the broker's and the machine's noise.
 * Bursts of BENCH_BURST (50) emits and a flush, like the 5,000/s latency bench's ~50-event sends; 30,000 emits to
 * warm up, then BENCH_REPS (5) runs of 20,000, best and median.
 *
 *   npx tsx bench/emit-cpu.ts        (ROOT=<another checkout> measures that checkout's code with this script)
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
const root = process.env.ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '..');
const imp = (p: string) => import(pathToFileURL(`${root}/${p}`).href);
const { Registry } = await import('prom-client');
const { OnexEventCodec, registryFromUrl } = await imp('src/codec/index.ts');
const { OnexProducer } = await imp('src/producer/index.ts');
const { encodeProduceRequest } = await imp('src/kafka/record-batch.ts');
const { createRegistryServer, MemoryStore } = await imp('src/registry/index.ts');
const { ackTemplates } = await imp('bench/support.ts');
const kafkajs = (await import('kafkajs')).default;
const registryServer = createRegistryServer({ store: new MemoryStore() });
const url = await registryServer.listen(0, '127.0.0.1');
const codec = new OnexEventCodec({ registry: registryFromUrl(url) });
await codec.prepare('1.3.0');
const kafka = new kafkajs.Kafka({ brokers: ['127.0.0.1:1'], logLevel: 0 });
const producer = new OnexProducer({ kafka, codec, topic: 't', metricsRegistry: new Registry() });
// The seam: the producer's sender, replaced (private; this bench is the only place that does it).
const p = producer as unknown as { state: string; sender: { deliver(batch: { records: Array<{ message: { keyHash: number } }> }, report: { sent(...a: unknown[]): void; settled(r: unknown[], e: undefined): void }): Promise<void> } };
p.state = 'running';
let produceId = 0n;
p.sender.deliver = async (batch, report) => {
  const byPart = new Map<number, Array<{ keyHash: number }>>();
  for (const r of batch.records) { const k = (r.message.keyHash & 0x7fffffff) % 4; let a = byPart.get(k); if (!a) byPart.set(k, (a = [])); a.push(r.message); }
  await encodeProduceRequest({ acks: -1, timeout: 30000, compression: 0, producerId: ++produceId, producerEpoch: 0, topicData: [{ topic: 't', partitions: [...byPart].map(([partition, messages]) => ({ partition, firstSequence: 0, messages })) }] });
  report.sent(batch, batch.records.length, 0, 0.001);
  report.settled(batch.records, undefined);
};
const templates = ackTemplates();
const BURST = Number(process.env.BENCH_BURST ?? 50);
async function run(n: number): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i += BURST) {
    const all: Promise<unknown>[] = [];
    for (let j = 0; j < BURST; j++) all.push(producer.emit({ ...templates[(i + j) % templates.length] }));
    await producer.flush();
    await Promise.all(all);
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}
await run(30000);
const out: number[] = [];
for (let r = 0; r < Number(process.env.BENCH_REPS ?? 5); r++) out.push(await run(20000));
out.sort((a, b) => a - b);
console.log(`${process.env.LABEL ?? root}: CPU µs/emit (sync path, no I/O), best ${out[0]!.toFixed(2)} median ${out[Math.floor(out.length / 2)]!.toFixed(2)} [${out.map((x) => x.toFixed(1)).join(', ')}]`);
await registryServer.close();
process.exit(0);
