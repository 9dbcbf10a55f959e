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

const REQUEST_TIMEOUT_MS = 5_000;
const FROZEN_MS = 15_000;

describe('a broker frozen with SIGSTOP for longer than the request timeout, then resumed', () => {
  it('is a hung broker, not a dead one: its partitions move on, nothing acknowledged is lost, no duplicate is written', async () => {
    const kafka = createKafka({ brokers: cluster.brokers });
    const topic = faultTopic('freeze');
    await createFaultTopic(kafka, topic, 3);
    const frozen = await leaderOf(kafka, topic, 0);
    const reader = workerReader(cluster.brokers, registry.url, topic);
    await reader.worker.start();
    const figures = await runLoad({
      fault: `broker-freeze (node ${frozen} SIGSTOPped ${FROZEN_MS / 1000} s, request timeout ${REQUEST_TIMEOUT_MS / 1000} s)`,
      brokers: cluster.brokers,
      registryUrl: registry.url,
      topic,
      rate: 500,
      durationMs: 25_000,
      faultAtMs: 4_000,
      kafka: { requestTimeoutMs: REQUEST_TIMEOUT_MS },
      baseline: true,
      reader,
      inject: async () => {
        cluster.signal(frozen, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, FROZEN_MS));
        cluster.signal(frozen, 'SIGCONT');
      },
    });
    await reader.worker.stop();
    printFigures(figures);
    expect(FROZEN_MS).toBeGreaterThan(REQUEST_TIMEOUT_MS);
    expect(figures.acked).toBeGreaterThan(0);
    expect(figures.lost).toBe(0);
    expect(figures.read).toBe(figures.acked);
    expect(figures.logDuplicates).toBe(0);
    expect(figures.acked + figures.failed).toBe(figures.emitted);
  });
});
