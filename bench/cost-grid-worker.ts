/**
 * A consumer process of bench/cost-grid.ts: the worker side of the grid runs in processes of their own, as deployed
 * (one or two per cell, in one consumer group), so that their CPU is theirs and not the grid's. The grid starts two of
 * these per cluster and keeps them for every cell, so process start-up and JIT warm-up are paid once.
 *
 * Lines on stdin (JSON), one job at a time:
 *   { "consume": { "mode": "onex" | "kafkajs", "topic", "groupId", "partitions" } }  joins the group, reads from the start
 *   { "stop": true }                                                                 leaves the group, reports
 * Lines on stdout (JSON): { "count": n } every 50 ms while the count grows, then
 *   { "done": { "count", "first", "last", "cpuUs", "failed" } }: wall-clock ms (epoch) of its first and last record,
 *   and its CPU µs from the first record to the last tick that saw the count grow.
 *
 * mode "onex": createWorker with default options except the target version (1.3.0, the version the grid writes, so
 * no upcast is measured) and deadLetter false (a failure is counted instead, and the grid refuses a cell with one), a
 * no-op '*' handler. mode "kafkajs": raw kafkajs eachBatch decoding each value with the same codec (the event a
 * hand-written consumer needs), resolveOffset per record, one heartbeat per batch, the same fetch settings and
 * partition concurrency, offsets committed by kafkajs's defaults.
 *
 * Env: GRID_BROKERS, GRID_REGISTRY.
 */
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { Registry } from 'prom-client';
import { OnexEventCodec, registryFromUrl } from '../src/codec/index.js';
import { createKafka } from '../src/kafka/index.js';
import { createWorker, type Worker } from '../src/worker/index.js';
import { WORKER_DEFAULTS } from '../src/worker/options.js';

const VERSION = '1.3.0';
const kafka = createKafka({ brokers: process.env.GRID_BROKERS!, clientId: 'bench-grid-worker' });
const codec = new OnexEventCodec({ registry: registryFromUrl(process.env.GRID_REGISTRY!) });
await codec.prepare(VERSION);
const { maxBytesPerPartition, maxWaitTimeMs } = WORKER_DEFAULTS.consumer;

const send = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

interface Job {
  stop(): Promise<void>;
}

let count = 0;
let failed = 0;
let first = 0;
let last = 0;
let firstCpu: NodeJS.CpuUsage | undefined;
let lastCpu: NodeJS.CpuUsage | undefined;
let reported = 0;
let job: Job | undefined;

function seen(): void {
  if (count === 0) {
    first = performance.timeOrigin + performance.now();
    firstCpu = process.cpuUsage();
  }
  count++;
  last = performance.timeOrigin + performance.now();
}

// The count, and the CPU up to the latest tick in which records arrived (an idle consumer's CPU after its last
// record is left out, up to one tick's worth).
const ticker = setInterval(() => {
  if (count === reported) return;
  reported = count;
  lastCpu = process.cpuUsage();
  send({ count });
}, 50);
ticker.unref();

async function onexJob(topic: string, groupId: string, partitions: number): Promise<Job> {
  const w: Worker = createWorker({
    kafka,
    groupId,
    topics: topic,
    decoder: codec,
    targetVersion: VERSION,
    fromBeginning: true,
    concurrency: partitions,
    deadLetter: false,
    metricsRegistry: new Registry(),
    onFailure: () => void failed++,
    handlers: { '*': () => seen() },
  });
  await w.start();
  return { stop: () => w.stop() };
}

async function kafkajsJob(topic: string, groupId: string, partitions: number): Promise<Job> {
  const consumer: Consumer = kafka.consumer({ groupId, maxBytesPerPartition, maxWaitTimeInMs: maxWaitTimeMs });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: partitions,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      if (isStale()) return;
      for (const m of batch.messages) {
        if (!isRunning()) break;
        const decoded = codec.decodeSync(m.value, VERSION) ?? (await codec.decode(m.value, VERSION));
        if (decoded.event) seen();
        else failed++;
        resolveOffset(m.offset);
      }
      await heartbeat();
    },
  });
  return { stop: () => consumer.disconnect() };
}

for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line) as { consume?: { mode: 'onex' | 'kafkajs'; topic: string; groupId: string; partitions: number }; stop?: true };
  if (msg.consume) {
    count = failed = first = last = reported = 0;
    firstCpu = lastCpu = undefined;
    const { mode, topic, groupId, partitions } = msg.consume;
    job = await (mode === 'onex' ? onexJob : kafkajsJob)(topic, groupId, Math.max(1, partitions));
  } else if (msg.stop) {
    await job?.stop();
    job = undefined;
    const end = lastCpu ?? process.cpuUsage();
    const cpuUs = firstCpu ? end.user - firstCpu.user + end.system - firstCpu.system : 0;
    send({ done: { count, first, last, cpuUs, failed } });
  }
}
process.exit(0);
