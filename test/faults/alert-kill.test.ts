import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster, type TestCluster } from '../support/cluster.js';
import { uniqueTopic } from '../support/kafka.js';
import { alertsScenario } from '../integration/alerting/scenario.js';
import { startPipeline, type Pipeline } from '../integration/worker/pipeline.js';

/**
 * The alert processor's exactly-once kill scenario (test/integration/alerting/scenario.ts) on the 3-node cluster:
 * `onex alerts run` SIGKILLed three times mid-stream (once with its first transaction after a restore open) and
 * restarted, on topics with 3 replicas and 2 in sync (the cluster's defaults, the transaction log's too); the output,
 * read committed, holds every ALERT transition the broker-free replay predicts, once.
 */

let cluster: TestCluster;
let p: Pipeline;
const children: ChildProcess[] = [];
beforeAll(async () => {
  cluster = await testCluster();
  p = await startPipeline(cluster.brokers);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await p?.close();
  await cluster?.heal();
});

describe('an alert processor SIGKILLed mid-transaction on the cluster', () => {
  it('writes no duplicate and misses no alert (replicated input, output, changelog and transaction log)', async () => {
    const t0 = Date.now();
    const result = await alertsScenario(p, children).killAndRestart({ topic: uniqueTopic('fault-alerts-in'), out: uniqueTopic('fault-alerts-out') });
    process.stderr.write(`[fault] alert-kill: ${result.transitions} transitions exactly once across ${result.kills} processor SIGKILLs on the 3-node cluster; ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });
});
