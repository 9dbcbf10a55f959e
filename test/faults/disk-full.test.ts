import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startLocalBroker, stopLocalBroker, type LocalBrokerInfo } from '../../src/dev/index.js';
import { isAlive } from '../../src/dev/processes.js';
import { createKafka } from '../../src/kafka/index.js';
import { startRegistry, type RunningRegistry } from '../../src/registry/index.js';
import { createFaultTopic, faultTopic, printFigures, runLoad, workerReader } from './load.js';

/**
 * A broker whose disk fills. The broker is one of its own (the cluster's nodes keep their data on the shared disk):
 * its partition logs live on a small tmpfs mounted for the test, its KRaft metadata log outside it, so what fills is
 * the data disk, as when a topic outgrows a volume. Kafka's answer to a full log dir is to mark it failed and, with
 * no log dir left, to halt; so the producer sees a broker that is gone, retries until its delivery timeout and fails
 * those events with ONEX_EVENT_612 ("may or may not have been written"). Space returns (the filler file removed), the
 * broker is started again on the same data, and the producer goes on with no restart of its own.
 *
 * Mounting needs root (this machine's CI runs as root); without it the test fails saying so, it does not skip.
 */

const DISK_MB = 64;
let dir: string;
let disk: string;
let broker: LocalBrokerInfo;
let registry: RunningRegistry;
const brokerOptions = () => ({
  dataDir: dir,
  heapMb: 512,
  ownerPid: process.pid,
  properties: { 'log.dirs': disk, 'metadata.log.dir': join(dir, 'metadata'), 'log.segment.bytes': String(4 * 1024 * 1024) },
});

beforeAll(async () => {
  dir = join(inject('clusterDataDir'), 'disk-full');
  disk = join(dir, 'small-disk');
  mkdirSync(disk, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_MB}m`, 'onex-disk-full', disk], { encoding: 'utf8' });
  if (mounted.status !== 0) throw new Error(`the disk-full test mounts a ${DISK_MB} MB tmpfs for the broker's logs and needs root for it: ${mounted.stderr.trim()}`);
  broker = (await startLocalBroker(brokerOptions())).info;
  // The schemas live in memory: the registry is not what this test fills.
  registry = await startRegistry({ port: 0, store: { kind: 'memory' } });
});

afterAll(async () => {
  await registry?.close();
  if (dir) await stopLocalBroker(dir, 20_000).catch(() => undefined);
  if (disk) spawnSync('umount', ['-l', disk]);
});

/** Fills the file system to the last byte (1 MB writes, then smaller) and returns the filler's path. */
function fill(path: string): string {
  const file = join(path, 'filler');
  const fd = openSync(file, 'w');
  try {
    for (let chunk = 1024 * 1024; chunk >= 1024; chunk /= 4) {
      const buf = Buffer.alloc(chunk, 0x66);
      for (;;) {
        try {
          writeSync(fd, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

describe("a broker's disk filling", () => {
  it('fails the events it cannot write with ONEX_EVENT_612, loses nothing acknowledged, and recovers when space returns', async () => {
    const topic = faultTopic('disk-full');
    const brokers = [broker.bootstrap];
    await createFaultTopic(createKafka({ brokers }), topic, 3);
    const reader = workerReader(brokers, registry.url, topic);
    await reader.worker.start();
    let halted = false;
    let haltMs = 0;
    let restartMs = 0;
    let backAt = Infinity;
    const freeMb = () => Number(execFileSync('df', ['--output=avail', '-m', disk], { encoding: 'utf8' }).split('\n')[1]);
    const figures = await runLoad({
      fault: `disk-full (${DISK_MB} MB log dir filled, broker halted; space freed and broker restarted 8 s later)`,
      brokers,
      registryUrl: registry.url,
      topic,
      rate: 300,
      durationMs: 40_000,
      faultAtMs: 5_000,
      reader,
      // A short delivery timeout, so that the events emitted while the broker is gone fail inside the run.
      producer: { deliveryTimeoutMs: 6_000 },
      kafka: { requestTimeoutMs: 3_000 },
      drainTimeoutMs: 90_000,
      inject: async () => {
        const filler = fill(disk);
        const t = Date.now();
        // The broker's next append hits ENOSPC; it marks the log dir failed and halts.
        while (isAlive(broker.pid) && Date.now() - t < 30_000) await new Promise((r) => setTimeout(r, 100));
        halted = !isAlive(broker.pid);
        haltMs = Date.now() - t;
        process.stderr.write(`[fault] disk full (${freeMb()} MB free): broker ${halted ? 'halted' : 'still running'} after ${haltMs} ms\n`);
        await new Promise((r) => setTimeout(r, 8_000));
        rmSync(filler);
        const t2 = Date.now();
        broker = (await startLocalBroker({ ...brokerOptions(), port: broker.port, controllerPort: broker.controllerPort })).info;
        restartMs = Date.now() - t2;
        backAt = Date.now();
        process.stderr.write(`[fault] space back (${freeMb()} MB free); broker answering again ${restartMs} ms after its restart began\n`);
      },
    });
    await reader.worker.stop();
    printFigures(figures);
    expect(halted).toBe(true);
    expect(existsSync(join(disk, 'filler'))).toBe(false);
    // The outage cost events, and each failure carries the code that says the outcome is unknown.
    expect(figures.failed).toBeGreaterThan(0);
    expect(Object.keys(figures.failureCodes)).toEqual(['ONEX_EVENT_612']);
    expect(figures.failureCodes.ONEX_EVENT_612).toBe(figures.failed);
    expect(figures.acked + figures.failed).toBe(figures.emitted);
    // Nothing acknowledged is lost, and the idempotent producer wrote nothing twice.
    expect(figures.lost).toBe(0);
    expect(figures.read).toBe(figures.acked);
    expect(figures.logDuplicates).toBe(0);
    // It recovered without a restart of its own: events emitted after the broker came back were acknowledged and read.
    const readAfter = reader.times().filter((t) => t > backAt).length;
    process.stderr.write(`[fault] disk-full: ${readAfter} events read after the broker came back\n`);
    expect(readAfter).toBeGreaterThan(300);
  });
});
