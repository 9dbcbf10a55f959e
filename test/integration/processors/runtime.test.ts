import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTimestamp } from '../../../src/event/index.js';
import { createProcessor, type Processor } from '../../../src/processors/index.js';
import { REPO_ROOT } from '../../support/cli.js';
import { uniqueTopic } from '../../support/kafka.js';
import { runningCount } from '../../fixtures/processors/running-count.js';
import { createTopic, encoded, produce, readTopic, startPipeline, waitFor, type Pipeline, type ReadRecord } from '../worker/pipeline.js';

const CHILD = fileURLToPath(new URL('../../fixtures/processors/run-processor.ts', import.meta.url));

let p: Pipeline;
const children: ChildProcess[] = [];
const processors: Processor[] = [];

beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.allSettled(processors.map((x) => x.stop()));
  await p?.close();
});

interface Counted {
  node_id: string;
  n: number;
  event_id?: string;
  idle?: boolean;
  late?: boolean;
}

const parse = (records: ReadRecord[]): Counted[] => records.map((r) => JSON.parse(r.value!.toString()) as Counted);

/** Events of `nodes` node ids, round robin, keyed by node id (so one node's events share a partition). */
function events(n: number, nodes: number, at: (i: number) => number = () => Date.now()) {
  return Array.from({ length: n }, (_, i) => {
    const node = `node_${i % nodes}`;
    const e = encoded(p, i % 2 ? '2.0.0' : '1.0.0', { node_id: node, timestamp: formatTimestamp(at(i) * 1000) });
    return { id: e.id, input: { ...e.input, key: node } };
  });
}

/** Every node's counts are exactly 1..k in order and every input event appears exactly once. */
function expectExactlyOnce(out: Counted[], ids: string[]): void {
  const byNode = new Map<string, number[]>();
  for (const c of out) {
    if (c.idle) continue;
    byNode.set(c.node_id, [...(byNode.get(c.node_id) ?? []), c.n]);
  }
  for (const [, ns] of byNode) expect(ns).toEqual(ns.map((_, i) => i + 1));
  const seen = out.filter((c) => !c.idle).map((c) => c.event_id);
  expect(new Set(seen).size).toBe(seen.length);
  expect([...seen].sort()).toEqual([...ids].sort());
}

function start(topic: string, groupId: string, out: string, extra: Partial<Parameters<typeof createProcessor>[0]> = {}, registry = new Registry()): Processor {
  const proc = createProcessor({ kafka: p.kafka, groupId, topic, decoder: p.codec, definition: runningCount(out), fromBeginning: true, metricsRegistry: registry, tick: false, ...extra });
  processors.push(proc);
  return proc;
}

interface Child {
  child: ChildProcess;
  stdout: () => string;
  exit: Promise<number | null>;
}

function spawnProcessor(cfg: { topic: string; groupId: string; out: string }): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ brokers: p.brokers, registryUrl: p.registry.url, ...cfg })], {
    cwd: REPO_ROOT,
    env: { ...process.env, ONEX_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  void exit.then((code) => code && code !== 0 && process.stderr.write(`processor child exited ${code}: ${stderr.slice(-2000)}\n`));
  return { child, stdout: () => stdout, exit };
}

const lastAssignment = (c: Child): number[] => {
  const lines = c.stdout().trim().split('\n').filter((l) => l.startsWith('assigned '));
  return lines.length ? (JSON.parse(lines[lines.length - 1]!.slice('assigned '.length)) as number[]) : [];
};

describe('processor runtime on a real broker', () => {
  it('keeps keyed state per partition, commits output and state in transactions, and restores it on restart', async () => {
    const topic = uniqueTopic('proc-in');
    const out = uniqueTopic('proc-out');
    const group = `proc-${randomUUID()}`;
    await createTopic(p, topic, 2);
    await createTopic(p, out, 1);
    const first = events(120, 6);
    await produce(p, topic, first.map((e) => e.input));
    const registry = new Registry();
    const a = start(topic, group, out, {}, registry);
    await a.start();
    await waitFor('the first 120 outputs', () => a.stats().recordsOut >= 120);
    await a.stop();
    const metrics = await registry.getMetricsAsJSON();
    const tx = metrics.find((m) => m.name === 'onex_processor_transactions_total')!;
    expect(tx.values.find((v) => v.labels.result === 'commit')!.value).toBeGreaterThan(0);
    expect(metrics.find((m) => m.name === 'onex_processor_records_in_total')!.values[0]!.value).toBe(120);

    // A new member of the group restores the counts from the changelog: the next outputs go on from 21, not 1.
    const second = events(60, 6);
    await produce(p, topic, second.map((e) => e.input));
    const b = start(topic, group, out);
    await b.start();
    const all = parse(await readTopic(p, out, 180));
    await b.stop();
    expect(b.stats().restores).toBe(1);
    expectExactlyOnce(all, [...first, ...second].map((e) => e.id));
    expect(Math.max(...all.map((c) => c.n))).toBe(30);
  });

  it('counts an event behind the watermark as late and drops it; one within the allowed lateness is processed', async () => {
    const topic = uniqueTopic('proc-late');
    const out = uniqueTopic('proc-late-out');
    await createTopic(p, topic, 1);
    await createTopic(p, out, 1);
    const t0 = Date.UTC(2026, 0, 1);
    // 0 s, 10 s, then 8 s (2 s behind, within 5 s of lateness), then 1 s (9 s behind: late).
    const times = [0, 10_000, 8_000, 1_000];
    const sent = events(4, 1, (i) => t0 + times[i]!);
    await produce(p, topic, sent.map((e) => e.input));
    const registry = new Registry();
    const proc = start(topic, `late-${randomUUID()}`, out, { allowedLatenessMs: 5_000, late: 'drop' }, registry);
    await proc.start();
    const got = parse(await readTopic(p, out, 3));
    await waitFor('the late event to be committed', () => proc.stats().recordsIn === 4);
    await proc.stop();
    expect(got.map((c) => c.event_id)).toEqual(sent.slice(0, 3).map((e) => e.id));
    const late = (await registry.getMetricsAsJSON()).find((m) => m.name === 'onex_processor_late_events_total')!;
    expect(late.values).toEqual([expect.objectContaining({ labels: { processor: 'running-count', policy: 'drop' }, value: 1 })]);
  });

  it('fires the timer of an idle key from the processing-time tick, with no further input', async () => {
    const topic = uniqueTopic('proc-idle');
    const out = uniqueTopic('proc-idle-out');
    await createTopic(p, topic, 1);
    await createTopic(p, out, 1);
    const proc = createProcessor({
      kafka: p.kafka,
      groupId: `idle-${randomUUID()}`,
      topic,
      decoder: p.codec,
      definition: runningCount(out, 1_000),
      fromBeginning: true,
      metricsRegistry: new Registry(),
      allowedLatenessMs: 500,
      tick: { intervalMs: 200, idleAfterMs: 300 },
    });
    processors.push(proc);
    await proc.start();
    await produce(p, topic, events(1, 1).map((e) => e.input));
    const got = parse(await readTopic(p, out, 2));
    await proc.stop();
    expect(got[0]).toMatchObject({ node_id: 'node_0', n: 1 });
    expect(got[1]).toEqual({ node_id: 'node_0', idle: true, n: 1 });
  });

  it('a processor SIGKILLed mid-stream and restarted emits every output exactly once, its state restored from the changelog', async () => {
    const topic = uniqueTopic('proc-kill');
    const out = uniqueTopic('proc-kill-out');
    const groupId = `kill-${randomUUID()}`;
    await createTopic(p, topic, 3);
    await createTopic(p, out, 1);
    const sent = events(3_000, 12);
    await produce(p, topic, sent.slice(0, 500).map((e) => e.input));
    const first = spawnProcessor({ topic, groupId, out });
    // More input keeps arriving while the first process works; it is killed in the middle of it. The feed holds
    // at 1,000 events until the kill, so the kill lands mid-stream however fast the first process is.
    let atHold!: () => void;
    const held = new Promise<void>((r) => (atHold = r));
    let resume!: () => void;
    const resumed = new Promise<void>((r) => (resume = r));
    const feeding = (async () => {
      for (let i = 500; i < sent.length; i += 250) {
        if (i === 1_000) {
          atHold();
          await resumed;
        }
        await produce(p, topic, sent.slice(i, i + 250).map((e) => e.input));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    await waitFor('the first process to have output', async () => (await p.admin.fetchTopicOffsets(out))[0]!.high !== '0', 90_000);
    await held;
    first.child.kill('SIGKILL');
    await first.exit;
    // The kill came in the middle: at most the first 1,000 outputs (and their markers) were on the topic then.
    const atKill = Number((await p.admin.fetchTopicOffsets(out))[0]!.high);
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(1_500);
    resume();
    await feeding;
    const second = spawnProcessor({ topic, groupId, out });
    const all = parse(await readTopic(p, out, 3_000, 120_000));
    second.child.kill('SIGTERM');
    await second.exit;
    expectExactlyOnce(all, sent.map((e) => e.id));
    // Nothing more than the 3,000 committed outputs either (read committed after the second process stopped).
    const again = parse(await readTopic(p, out, 3_000));
    expect(again.length).toBe(3_000);
  });

  it('two processes in one group split the partitions and together emit what one would', async () => {
    const topic = uniqueTopic('proc-split');
    const out = uniqueTopic('proc-split-out');
    const groupId = `split-${randomUUID()}`;
    await createTopic(p, topic, 4);
    await createTopic(p, out, 1);
    const a = spawnProcessor({ topic, groupId, out });
    const b = spawnProcessor({ topic, groupId, out });
    await waitFor('both processes to hold partitions', () => lastAssignment(a).length > 0 && lastAssignment(b).length > 0, 90_000);
    await waitFor('the assignment to settle', () => lastAssignment(a).length + lastAssignment(b).length === 4, 60_000);
    expect([...lastAssignment(a), ...lastAssignment(b)].sort()).toEqual([0, 1, 2, 3]);
    const sent = events(800, 16);
    await produce(p, topic, sent.map((e) => e.input));
    const all = parse(await readTopic(p, out, 800, 90_000));
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.exit, b.exit]);
    const stats = [a, b].map((c) => JSON.parse(c.stdout().split('\n').find((l) => l.startsWith('stats '))!.slice(6)) as { recordsIn: number });
    expect(stats[0]!.recordsIn).toBeGreaterThan(0);
    expect(stats[1]!.recordsIn).toBeGreaterThan(0);
    expect(stats[0]!.recordsIn + stats[1]!.recordsIn).toBe(800);
    expectExactlyOnce(all, sent.map((e) => e.id));
  });
});
