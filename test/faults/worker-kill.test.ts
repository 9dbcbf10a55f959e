import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/kafka/index.js';
import type { RunningRegistry } from '../../src/registry/index.js';
import { testCluster, type TestCluster } from '../support/cluster.js';
import { clusterRegistry, createFaultTopic, exited, faultTopic, printFigures, runLoad, spawnOnex, type ReadLog } from './load.js';

const RECORDER = fileURLToPath(new URL('../fixtures/handlers/record-events.mjs', import.meta.url));

let cluster: TestCluster;
let registry: RunningRegistry;
let dir: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  cluster = await testCluster();
  registry = await clusterRegistry(cluster.brokers);
  dir = mkdtempSync(join(tmpdir(), 'onex-fault-workers-'));
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await registry?.close();
  rmSync(dir, { recursive: true, force: true });
  await cluster?.heal();
});

/** Every member's record file, read as one log: a line is a handled event, timed when this poll first saw it. */
function filesReader(files: string[]): ReadLog & { poll(): void } {
  const ids: string[] = [];
  const times: number[] = [];
  const seenLines = new Map<string, number>();
  const poll = () => {
    for (const f of files) {
      if (!existsSync(f)) continue;
      const lines = readFileSync(f, 'utf8').split('\n').filter(Boolean);
      for (const line of lines.slice(seenLines.get(f) ?? 0)) {
        ids.push(line.split(' ')[0]!);
        times.push(Date.now());
      }
      seenLines.set(f, lines.length);
    }
  };
  return { poll, ids: () => (poll(), ids), times: () => times };
}

describe('workers SIGKILLed repeatedly while handling, and a rebalance storm', () => {
  it('every acknowledged event is handled (redeliveries counted), nothing is lost, the log has no duplicate', async () => {
    const topic = faultTopic('workers');
    await createFaultTopic(createKafka({ brokers: cluster.brokers }), topic, 6);
    const files: string[] = [];
    const reader = filesReader(files);
    const poller = setInterval(reader.poll, 200);
    const spawnWorker = (): ChildProcess => {
      const file = join(dir, `w${files.length}.txt`);
      files.push(file);
      const w = spawnOnex(
        ['worker', '--handlers', RECORDER, '--topic', topic, '--group', `${topic}.g`, '--from-beginning', '--session-timeout', '6000'],
        { KAFKA_BROKERS: cluster.brokers.join(','), SCHEMA_REGISTRY_URL: registry.url, ONEX_TEST_RECORD_FILE: file, ONEX_LOG_LEVEL: 'error' },
      );
      children.push(w.child);
      return w.child;
    };
    const members = [spawnWorker(), spawnWorker()];
    let kills = 0;
    let joinsAndLeaves = 0;
    const figures = await runLoad({
      fault: 'worker-kill + rebalance storm (a member SIGKILLed and replaced every 4 s, another joining and leaving every 2 s)',
      brokers: cluster.brokers,
      registryUrl: registry.url,
      topic,
      rate: 400,
      durationMs: 30_000,
      faultAtMs: 5_000,
      reader,
      drainTimeoutMs: 90_000,
      inject: async () => {
        const end = Date.now() + 20_000;
        let storm: ChildProcess | undefined;
        let tick = 0;
        while (Date.now() < end) {
          await new Promise((r) => setTimeout(r, 2_000));
          tick++;
          // The storm: a member joins, then leaves cleanly (SIGTERM) at the next tick.
          if (storm) {
            storm.kill('SIGTERM');
            storm = undefined;
          } else storm = spawnWorker();
          joinsAndLeaves++;
          if (tick % 2 === 0) {
            const victim = members.shift()!;
            victim.kill('SIGKILL');
            await exited(victim);
            kills++;
            members.push(spawnWorker());
          }
        }
        storm?.kill('SIGTERM');
      },
    });
    clearInterval(poller);
    for (const m of members) m.kill('SIGTERM');
    await Promise.all(members.map(exited));
    printFigures(figures);
    process.stderr.write(`[fault] ${kills} members SIGKILLed, ${joinsAndLeaves} joins or leaves of the storm member, ${files.length} worker processes in all\n`);
    expect(kills).toBeGreaterThanOrEqual(4);
    expect(figures.lost).toBe(0);
    expect(figures.read).toBe(figures.acked);
    expect(figures.acked).toBe(figures.emitted);
    expect(figures.logDuplicates).toBe(0);
  });
});
