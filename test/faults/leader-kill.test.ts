import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/kafka/index.js';
import type { RunningRegistry } from '../../src/registry/index.js';
import { testCluster, type TestCluster } from '../support/cluster.js';
import { clusterRegistry, createFaultTopic, faultTopic, leaderOf, printFigures, runLoad, workerReader } from './load.js';

let cluster: TestCluster;
let registry: RunningRegistry;
beforeAll(async () => {
  cluster = await testCluster();
  registry = await clusterRegistry(cluster.brokers);
});
afterAll(async () => {
  await registry?.close();
  await cluster?.heal();
});

describe('the partition leader SIGKILLed while the producer emits and the worker consumes, then restarted', () => {
  it('loses nothing acknowledged, and the idempotent producer writes no duplicate', async () => {
    const topic = faultTopic('leader-kill');
    await createFaultTopic(createKafka({ brokers: cluster.brokers }), topic, 3);
    const leader = await leaderOf(createKafka({ brokers: cluster.brokers }), topic, 0);
    const reader = workerReader(cluster.brokers, registry.url, topic);
    await reader.worker.start();
    let downMs = 0;
    const figures = await runLoad({
      fault: `leader-kill (node ${leader} SIGKILLed, restarted 5 s later)`,
      brokers: cluster.brokers,
      registryUrl: registry.url,
      topic,
      rate: 500,
      durationMs: 20_000,
      faultAtMs: 5_000,
      reader,
      inject: async () => {
        cluster.signal(leader, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 5_000));
        downMs = await cluster.restart(leader);
      },
    });
    await reader.worker.stop();
    printFigures(figures);
    process.stderr.write(`[fault] node ${leader} back and the cluster whole ${downMs} ms after its restart began\n`);
    expect(cluster.pid(leader)).toBeDefined();
    expect(figures.acked).toBeGreaterThan(0);
    expect(figures.lost).toBe(0);
    expect(figures.read).toBe(figures.acked);
    expect(figures.logDuplicates).toBe(0);
    // With replication 3 / min ISR 2, one dead broker costs no acknowledgement: the producer's retries carry it.
    expect(figures.acked + figures.failed).toBe(figures.emitted);
  });
});
