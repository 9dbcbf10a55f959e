import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type AnyOnexEvent, nowTimestamp } from '../src/event/index.js';
import { SyntheticEvents } from '../src/dev/index.js';
import type { OnexProducer } from '../src/producer/index.js';
import { createWorker, type Worker, type WorkerOptions } from '../src/worker/index.js';
import { Registry } from 'prom-client';
import { generateEvent, rng } from '../test/fixtures/events/generate.js';

/** `n` synthetic 1 KB 1.3.0 events with fresh ids and timestamps (the same stream for the same seed). */
export function makeEvents(n: number, seed: number): Array<Record<string, unknown>> {
  const g = new SyntheticEvents({ versions: ['1.3.0'], sizeBytes: 1024, seed });
  return Array.from({ length: n }, () => ({ ...g.next().event, event_id: randomUUID(), timestamp: nowTimestamp() }));
}

/**
 * Emits every event and flushes; returns the bytes the producer reported as sent. emit() resolves on
 * acknowledgement, so a window of outstanding emits keeps the batches full and memory bounded.
 */
export async function emitAll(producer: OnexProducer, list: ReadonlyArray<Record<string, unknown>>, window: number): Promise<number> {
  let bytes = 0;
  let pending: Promise<unknown>[] = [];
  for (const e of list) {
    pending.push(producer.emit(e).then((r) => (bytes += r.status === 'sent' ? r.bytes : 0)));
    if (pending.length >= window) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await producer.flush();
  return bytes;
}

/**
 * Reads `events` records of `topic` from the start with a fresh worker (target 2.0.0, one partition at a time per
 * `partitions`, a registry of its own) whose handler calls `onEvent`, and measures CPU µs per event and events/s from
 * the first handled event to the last (the group join and the first fetch left out). `extra` adds worker options.
 * Returns the figures and the stopped worker, for its stats.
 */
export async function consumeAll(o: {
  kafka: WorkerOptions['kafka'];
  decoder: WorkerOptions['decoder'];
  topic: string;
  group: string;
  events: number;
  partitions: number;
  extra?: Partial<WorkerOptions>;
  onEvent?: (event: AnyOnexEvent) => void;
}): Promise<{ us: number; perSec: number; worker: Worker }> {
  let n = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let t0 = 0;
  let resolve!: (r: { us: number; perSec: number }) => void;
  const done = new Promise<{ us: number; perSec: number }>((r) => (resolve = r));
  const worker = createWorker({
    kafka: o.kafka,
    groupId: o.group,
    topics: o.topic,
    decoder: o.decoder,
    targetVersion: '2.0.0',
    fromBeginning: true,
    concurrency: o.partitions,
    metricsRegistry: new Registry(),
    consumer: { maxWaitTimeMs: 200 },
    ...o.extra,
    handlers: {
      '*': (event) => {
        if (n++ === 0) {
          cpu0 = process.cpuUsage();
          t0 = performance.now();
        }
        o.onEvent?.(event);
        if (n === o.events) {
          const cpu = process.cpuUsage(cpu0);
          resolve({ us: (cpu.user + cpu.system) / (o.events - 1), perSec: (o.events - 1) / ((performance.now() - t0) / 1000) });
        }
      },
    },
  });
  await worker.start();
  const r = await done;
  await worker.stop();
  return { ...r, worker };
}

/**
 * Offers `total` events at `rate` per second from a 1 ms tick, counted from `start` (a performance.now() instant):
 * `emit(i, at)` for each event due by then (`at`: the instant it is offered), then `tick(now)` once per tick (a
 * linger-based sender checks its batch there). Resolves on the first tick after the last offer where `settled()`.
 */
export function offerAtRate(o: {
  rate: number;
  total: number;
  start: number;
  emit: (i: number, at: number) => void;
  tick?: (now: number) => void;
  settled: () => boolean;
}): Promise<void> {
  let offered = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(o.total, Math.floor(((now - o.start) / 1000) * o.rate));
      for (; offered < due; offered++) o.emit(offered, performance.now());
      o.tick?.(now);
      if (offered >= o.total && o.settled()) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
}

/**
 * One offered event: to OnexProducer (its ack time, from `at`, into `acks`; a failed emit to `onFailed`) or, when
 * there is none, to `queue` with a fresh event_id and timestamp, as OnexProducer would stamp it, for a plain producer.
 */
export function offerEvent(
  onex: OnexProducer | undefined,
  template: Record<string, unknown>,
  at: number,
  acks: number[],
  onFailed: () => void,
  queue: (event: Record<string, unknown>) => void,
): void {
  if (onex) {
    onex.emit({ ...template }).then(() => acks.push(performance.now() - at), onFailed);
  } else {
    queue({ ...template, event_id: randomUUID(), timestamp: nowTimestamp() });
  }
}

/** 1,000 generated 1 KB 1.3.0 events without event_id and timestamp (the producer stamps those), seed 7. */
export function ackTemplates(): Array<Record<string, unknown>> {
  const r = rng(7);
  return Array.from({ length: 1000 }, () => {
    const e = generateEvent(r, '1.3.0', { targetBytes: 1024 });
    delete e.timestamp;
    delete e.event_id;
    return e;
  });
}
