import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { SyntheticEvents } from '../../src/dev/index.js';
import { CE_HEADERS } from '../../src/event/index.js';
import { createKafka, ensureTopics } from '../../src/kafka/index.js';
import { OnexProducer, type OnexProducerOptions } from '../../src/producer/index.js';
import { startRegistry, type RunningRegistry } from '../../src/registry/index.js';
import { createWorker, retryWhileRetriable, type Worker } from '../../src/worker/index.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/**
 * The load every fault test runs: an OnexProducer emitting at a steady rate, something reading (in this process or
 * in child workers), a fault at a set time, then the books: every event id the producer heard acknowledged must be
 * read, duplicates are counted (in the log: from the producer, must be 0; at the reader: redeliveries, reported).
 */

export interface Figures {
  fault: string;
  emitted: number;
  acked: number;
  failed: number;
  failureCodes: Record<string, number>;
  /** Distinct acknowledged ids the reader handled. */
  read: number;
  /** Handled more than once by the reader (at-least-once redelivery after a fault). */
  readDuplicates: number;
  /** Records in the topic whose ce_id another record has too: the idempotent producer must write none. */
  logDuplicates: number;
  logRecords: number;
  /** Acknowledged but never read, or not in the log. */
  lost: number;
  /** Acknowledged and not in the log at all (what the broker lost). */
  missingFromLog: number;
  /** The longest stretch without an acknowledgement after the fault began. */
  produceRecoverMs: number;
  /** The longest stretch without a read after the fault began (while there was something to read). */
  consumeRecoverMs: number;
  durationMs: number;
}

export function printFigures(f: Figures): void {
  const codes = Object.entries(f.failureCodes).map(([c, n]) => `${c}x${n}`).join(',') || '-';
  process.stderr.write(
    `[fault] ${f.fault}: emitted=${f.emitted} acked=${f.acked} failed=${f.failed} (${codes}) read=${f.read} lost=${f.lost} (not in log ${f.missingFromLog}) ` +
      `duplicates: log=${f.logDuplicates} reader=${f.readDuplicates}; time to recover: produce=${f.produceRecoverMs} ms ` +
      `consume=${f.consumeRecoverMs} ms; run ${(f.durationMs / 1000).toFixed(1)} s\n`,
  );
}

export function faultTopic(name: string): string {
  return `t.fault.${name}.${randomBytes(3).toString('hex')}`;
}

export async function createFaultTopic(kafka: Kafka, topic: string, partitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // No replication options: the cluster's defaults (3 copies, 2 in sync) are what is under test.
    await retryWhileRetriable(() => ensureTopics(admin, [{ topic, partitions }]));
  } finally {
    await admin.disconnect();
  }
}

/** The leader broker (node id) of a partition. */
export async function leaderOf(kafka: Kafka, topic: string, partition = 0): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]!.partitions.find((p) => p.partitionId === partition)!.leader;
  } finally {
    await admin.disconnect();
  }
}

/** Every record's ce_id in the topic, read from the beginning by a fresh group until the log end offsets are reached. */
export async function idsInLog(kafka: Kafka, topic: string, timeoutMs = 120_000, where?: Map<string, string>): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  await admin.disconnect();
  const ids: string[] = [];
  const consumer = kafka.consumer({ groupId: `${topic}.audit.${randomBytes(3).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const reached = new Map<number, bigint>();
    const done = () => [...ends].every(([p, end]) => end === 0n || (reached.get(p) ?? -1n) + 1n >= end);
    if (done()) return ids;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} back did not reach its end within ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              const id = String(m.headers?.[CE_HEADERS.id] ?? '');
              ids.push(id);
              where?.set(id, `${batch.partition}@${m.offset}`);
            }
            reached.set(batch.partition, BigInt(batch.lastOffset()));
            if (done()) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return ids;
}

/** What reads the topic during a run: handled ids in order, with when each was handled. */
export interface ReadLog {
  ids(): string[];
  times(): number[];
}

export interface LoadOptions {
  fault: string;
  brokers: string[];
  registryUrl: string;
  topic: string;
  /** Events per second, emitted in 20 ms ticks. */
  rate: number;
  durationMs: number;
  faultAtMs: number;
  /** The fault itself; the run goes on while it lasts. */
  inject: () => Promise<void>;
  reader: ReadLog;
  producer?: Partial<OnexProducerOptions>;
  /** Kafka client settings of the producer (e.g. a short request timeout). */
  kafka?: { requestTimeoutMs?: number };
  /** How long to wait, after the run, for the reader to have every acknowledged id. */
  drainTimeoutMs?: number;
  /**
   * Also run a plain kafkajs idempotent producer (acks=all, one request in flight) at the same rate into
   * `<topic>.raw` under the same fault, and print its books beside ours: the same-run baseline.
   */
  baseline?: boolean;
}

/** A plain kafkajs idempotent producer's books under the same fault: acknowledged ids missing from its topic. */
async function rawBaseline(kafka: Kafka, topic: string, rate: number, until: () => boolean): Promise<{ run: Promise<void>; books: () => Promise<string> }> {
  await createFaultTopic(kafka, topic, 3);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acked = new Set<string>();
  let failed = 0;
  let sent = 0;
  const run = (async () => {
    const perTick = Math.max(1, Math.round(rate / 50));
    const inflight: Promise<void>[] = [];
    while (!until()) {
      const messages = Array.from({ length: perTick }, () => {
        const id = randomUUID();
        return { key: id, value: Buffer.alloc(200, 1), headers: { [CE_HEADERS.id]: id } };
      });
      sent += messages.length;
      inflight.push(
        producer.send({ topic, acks: -1, messages }).then(
          () => messages.forEach((m) => acked.add(m.key)),
          () => void (failed += messages.length),
        ),
      );
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(inflight);
    await producer.disconnect();
  })();
  return {
    run,
    books: async () => {
      const log = await idsInLog(kafka, topic);
      const inLog = new Set(log);
      const missing = [...acked].filter((id) => !inLog.has(id)).length;
      return `sent=${sent} acked=${acked.size} failed=${failed} missing from log=${missing} log duplicates=${log.length - inLog.size}`;
    },
  };
}

function longestGap(times: number[], from: number): number {
  const after = times.filter((t) => t >= from).sort((a, b) => a - b);
  let prev = from;
  let gap = 0;
  for (const t of after) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return gap;
}

export async function runLoad(o: LoadOptions): Promise<Figures> {
  const t0 = Date.now();
  const kafka = createKafka({ brokers: o.brokers, clientId: `fault-${o.fault}`, requestTimeoutMs: o.kafka?.requestTimeoutMs });
  const producer = new OnexProducer({
    kafka,
    registry: o.registryUrl,
    topic: o.topic,
    buffer: { maxBytes: 8 * 1024 * 1024, overflow: 'block', blockTimeoutMs: 120_000 },
    deliveryTimeoutMs: 120_000,
    metricsRegistry: new Registry(),
    ...o.producer,
  });
  const failureCodes: Record<string, number> = {};
  producer.onFailure((e) => (failureCodes[e.code] = (failureCodes[e.code] ?? 0) + 1));
  await producer.start();

  const g = new SyntheticEvents({ versions: ['1.3.0'], seed: 18 });
  const acked = new Set<string>();
  const ackTimes: number[] = [];
  let emitted = 0;
  let failed = 0;
  const pending: Promise<void>[] = [];
  const perTick = Math.max(1, Math.round(o.rate / 50));
  const faultStart = t0 + o.faultAtMs;
  let fault: Promise<void> | undefined;
  const baseline = o.baseline ? await rawBaseline(kafka, `${o.topic}.raw`, o.rate, () => Date.now() - t0 >= o.durationMs) : undefined;
  while (Date.now() - t0 < o.durationMs) {
    if (!fault && Date.now() >= faultStart) fault = o.inject();
    for (let i = 0; i < perTick; i++) {
      const event = { ...g.next().event, event_id: randomUUID() };
      emitted++;
      pending.push(
        producer.emit(event).then(
          (r) => {
            acked.add(r.eventId);
            ackTimes.push(Date.now());
          },
          () => void failed++,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  fault ??= o.inject();
  await fault;
  await Promise.all(pending);
  await producer.close();
  if (baseline) {
    await baseline.run;
    process.stderr.write(`[fault] ${o.fault}: plain kafkajs idempotent producer, same run: ${await baseline.books()}\n`);
  }

  // The reader catches up: every acknowledged id must arrive.
  const deadline = Date.now() + (o.drainTimeoutMs ?? 60_000);
  let readSet = new Set(o.reader.ids());
  while ([...acked].some((id) => !readSet.has(id)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    readSet = new Set(o.reader.ids());
  }
  const readIds = o.reader.ids();
  readSet = new Set(readIds);
  const where = new Map<string, string>();
  const log = await idsInLog(kafka, o.topic, 120_000, where);
  const logSet = new Set(log);
  const lost = [...acked].filter((id) => !readSet.has(id) || !logSet.has(id)).length;
  const missingFromLog = [...acked].filter((id) => !logSet.has(id)).length;
  const unread = [...acked].filter((id) => !readSet.has(id));
  if (unread.length) process.stderr.write(`[fault] ${o.fault}: unread (partition@offset in the log): ${unread.slice(0, 30).map((id) => where.get(id) ?? 'absent').join(' ')}\n`);
  return {
    fault: o.fault,
    emitted,
    acked: acked.size,
    failed,
    failureCodes,
    read: [...readSet].filter((id) => acked.has(id)).length,
    readDuplicates: readIds.length - readSet.size,
    logDuplicates: log.length - logSet.size,
    logRecords: log.length,
    lost,
    missingFromLog,
    produceRecoverMs: longestGap(ackTimes, faultStart),
    consumeRecoverMs: longestGap(o.reader.times(), faultStart),
    durationMs: Date.now() - t0,
  };
}

/** A reader in this process: an onex worker on the topic recording every handled event id. */
export function workerReader(brokers: string[], registryUrl: string, topic: string): ReadLog & { worker: Worker } {
  const ids: string[] = [];
  const times: number[] = [];
  const worker = createWorker({
    kafka: createKafka({ brokers, clientId: `fault-reader-${topic}` }),
    registry: registryUrl,
    groupId: `${topic}.worker`,
    topics: topic,
    fromBeginning: true,
    metricsRegistry: new Registry(),
    consumer: { maxWaitTimeMs: 100 },
    handlers: {
      '*': (event) => {
        ids.push(String(event.event_id));
        times.push(Date.now());
      },
    },
  });
  return { worker, ids: () => ids, times: () => times };
}

/** The run's schema registry, storing its schemas on the cluster (a topic of its own per test file). */
export async function clusterRegistry(brokers: string[], port = 0): Promise<RunningRegistry> {
  return retryWhileRetriable(() => startRegistry({ port, store: { kind: 'kafka', brokers, topic: faultTopic('schemas') } }));
}

export interface OnexChild {
  child: ChildProcess;
  /** Resolves with the first stdout line (a CLI prints its address there when it is ready). */
  firstLine: Promise<string>;
  stderr(): string;
}

/** `onex ARGS` from source as a child process, the way a user runs it. */
export function spawnOnex(args: string[], env: NodeJS.ProcessEnv = {}): OnexChild {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
    child.once('exit', (code, sig) => reject(new Error(`onex ${args.join(' ')} exited (${code ?? sig}) before it was ready: ${err.slice(-800)}`)));
  });
  firstLine.catch(() => undefined);
  return { child, firstLine, stderr: () => err };
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}
