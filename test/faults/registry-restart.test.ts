import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/index.js';
import { createKafka } from '../../src/kafka/index.js';
import { testCluster, type TestCluster } from '../support/cluster.js';
import { createFaultTopic, exited, faultTopic, printFigures, runLoad, spawnOnex, workerReader, type OnexChild } from './load.js';

let cluster: TestCluster;
let registry: OnexChild | undefined;
beforeAll(async () => {
  cluster = await testCluster();
});
afterAll(async () => {
  registry?.child.kill('SIGKILL');
  await cluster?.heal();
});

async function reachable(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

describe('the schema registry SIGKILLed and unreachable for a while during load, then started again', () => {
  it("the producer's and the worker's caches carry them: nothing fails, nothing acknowledged is lost", async () => {
    const port = await freePort();
    const schemas = faultTopic('schemas');
    const serve = () => spawnOnex(['registry', 'serve', '--port', String(port), '--bootstrap-server', cluster.brokers.join(','), '--topic', schemas]);
    registry = serve();
    const url = await registry.firstLine;
    const topic = faultTopic('registry');
    await createFaultTopic(createKafka({ brokers: cluster.brokers }), topic, 3);
    const reader = workerReader(cluster.brokers, url, topic);
    await reader.worker.start();
    let unreachableSeen = false;
    let backInMs = 0;
    const figures = await runLoad({
      fault: 'registry-restart (SIGKILLed, down 5 s, started again on its port)',
      brokers: cluster.brokers,
      registryUrl: url,
      topic,
      rate: 500,
      durationMs: 20_000,
      faultAtMs: 4_000,
      reader,
      inject: async () => {
        registry!.child.kill('SIGKILL');
        await exited(registry!.child);
        unreachableSeen = !(await reachable(url));
        await new Promise((r) => setTimeout(r, 5_000));
        const t = Date.now();
        registry = serve();
        await registry.firstLine;
        backInMs = Date.now() - t;
      },
    });
    await reader.worker.stop();
    printFigures(figures);
    process.stderr.write(`[fault] the registry answered again ${backInMs} ms after its restart began\n`);
    expect(unreachableSeen).toBe(true);
    expect(await reachable(url)).toBe(true);
    expect(figures.failed).toBe(0);
    expect(figures.lost).toBe(0);
    expect(figures.read).toBe(figures.acked);
    expect(figures.acked).toBe(figures.emitted);
    expect(figures.logDuplicates).toBe(0);
  });
});
