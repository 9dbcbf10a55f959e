import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertProcessor } from '../../../src/processors/alerting/index.js';
import type { Processor } from '../../../src/processors/index.js';
import { uniqueTopic } from '../../support/kafka.js';
import { committedTotal, createTopic, readTopic, startPipeline, waitFor, type Pipeline } from '../worker/pipeline.js';
import { alertsScenario, rules } from './scenario.js';

/**
 * Exactly once for alerts, with `onex alerts run` as a real process on the shared broker: SIGKILLed at several points
 * of a stream and restarted, and two processes sharing the input partitions across a rebalance (./scenario.ts; the
 * faults project runs the kill scenario on the 3-node cluster too).
 */

let p: Pipeline;
let s: ReturnType<typeof alertsScenario>;
const children: ChildProcess[] = [];
const processors: Processor[] = [];
beforeAll(async () => {
  p = await startPipeline();
  s = alertsScenario(p, children);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.allSettled(processors.map((x) => x.stop()));
  await p?.close();
});

describe('onex alerts run: exactly once on a real broker', () => {
  it('SIGKILLed mid-stream at several points and restarted, it writes every ALERT transition exactly once', async () => {
    await s.killAndRestart({ topic: uniqueTopic('alerts-eo-in'), out: uniqueTopic('alerts-eo-out') });
  }, 120_000);

  it('two processes share the partitions across a rebalance (state restored from the changelog) and write what one would', async () => {
    const topic = uniqueTopic('alerts-split-in');
    const out = uniqueTopic('alerts-split-out');
    const single = uniqueTopic('alerts-split-one');
    const group = `alerts-split-${randomUUID()}`;
    await createTopic(p, topic, 4);
    await createTopic(p, out, 1);
    await createTopic(p, single, 1);
    const sent = s.stream(16, 120, 4);
    const half = sent.length / 2;
    // The first half goes to one process, which holds all four partitions and builds their state.
    await s.produceSlowly(topic, sent.slice(0, half), 500, 0);
    const a = s.runAlerts(topic, group, out);
    await waitFor('the first process to take the first half', async () => (await committedTotal(p, group, topic)) === half, 50_000);
    expect(a.assigned()).toEqual([0, 1, 2, 3]);
    // A second process joins: the partitions it takes over are restored from the changelog, mid-burst.
    const b = s.runAlerts(topic, group, out);
    await waitFor('both processes to hold partitions', () => a.assigned().length > 0 && b.assigned().length > 0 && a.assigned().length + b.assigned().length === 4, 50_000);
    expect([...a.assigned(), ...b.assigned()].sort()).toEqual([0, 1, 2, 3]);
    await waitFor('the new owner to restore state', () => b.restoredRecords() > 0, 30_000);
    await s.produceSlowly(topic, sent.slice(half), 500, 0);
    await waitFor('both to commit all input', async () => (await committedTotal(p, group, topic)) === sent.length, 50_000);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.exit, b.exit]);

    // One processor, in this process, over the same input: the two together wrote exactly what it writes.
    const one = createAlertProcessor({
      kafka: p.kafka, groupId: `alerts-one-${randomUUID()}`, topic, decoder: p.codec, rules, alertsTopic: single,
      encode: (e) => p.codec.encode(e, '2.0.0'), fromBeginning: true, metricsRegistry: new Registry(), allowedLatenessMs: 0, tick: false,
    });
    processors.push(one);
    await one.start();
    const want = s.expected(sent, 4);
    const oneLines = await s.decodeAll(await readTopic(p, single, want.length, 30_000));
    await one.stop();
    const twoLines = await s.decodeAll(await readTopic(p, out, want.length, 30_000));
    expect(twoLines).toEqual(oneLines);
    expect(oneLines).toEqual(want);
    await s.expectNoMore(out, want.length);
  }, 120_000);
});
