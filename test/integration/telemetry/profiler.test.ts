import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyOnexEvent } from '../../../src/event/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { startProfiler } from '../../../src/telemetry/index.js';
import { createWorker, type Worker } from '../../../src/worker/index.js';
import { REPO_ROOT, runOnex } from '../../support/cli.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, eventOf, startPipeline, waitFor, type Pipeline } from '../worker/pipeline.js';

/**
 * PERFORMANCE_PROFILE events across the real broker: a worker whose handler sleeps a known 25 ms is profiled
 * automatically, the profiler emits through an OnexProducer writing 1.3.0, and a second worker (target 2.0.0, strict
 * validation) receives the profiles upcast and valid, with percentiles that bracket the sleep.
 */
let p: Pipeline;
const closers: Array<() => Promise<void>> = [];
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await p?.close();
});

function worker(topic: string, handlers: Parameters<typeof createWorker>[0]['handlers']): Worker {
  const w = createWorker({ kafka: p.kafka, decoder: p.codec, groupId: `g-${topic}`, topics: topic, fromBeginning: true, targetVersion: '2.0.0', metricsRegistry: new Registry(), consumer: { maxWaitTimeMs: 100 }, handlers });
  closers.push(() => w.stop());
  return w;
}

describe('PERFORMANCE_PROFILE events', () => {
  it('a handler sleeping 25 ms is profiled, and its profile reaches a worker upcast to 2.0.0 and valid', async () => {
    const work = uniqueTopic('profile-work');
    const profiles = uniqueTopic('profile-out');
    for (const t of [work, profiles]) {
      await createTopic(p, t);
      await createTopic(p, `${t}.dlq`);
    }
    const profileProducer = new OnexProducer({ kafka: p.kafka, topic: profiles, codec: p.codec, schemaVersion: '1.3.0', metricsRegistry: new Registry(), sampling: { enabled: false }, batch: { lingerMs: 1 } });
    closers.push(() => profileProducer.close());
    const profiler = startProfiler({ emit: (e) => profileProducer.emit(e), windowMs: 60_000, nodeId: 'profiler_test-1' });
    closers.push(() => profiler.close());

    let handled = 0;
    const w = worker(work, { NODE_START: async () => { await new Promise((r) => setTimeout(r, 25)); handled++; } });
    await w.start();
    const input = new OnexProducer({ kafka: p.kafka, topic: work, codec: p.codec, schemaVersion: '2.0.0', metricsRegistry: new Registry(), sampling: { enabled: false }, batch: { lingerMs: 1 } });
    closers.push(() => input.close());
    for (let i = 0; i < 20; i++) await input.emit(eventOf('2.0.0'));
    await waitFor('20 handled', () => handled === 20);

    const received: AnyOnexEvent[] = [];
    const reader = worker(profiles, { PERFORMANCE_PROFILE: (e) => void received.push(e) });
    await reader.start();
    expect(await profiler.flush()).toBeGreaterThanOrEqual(3); // handle NODE_START, send <work>, prepare <work>
    await waitFor('the handler profile', () => received.some((e) => (e.metadata as any)?.operation === 'handle NODE_START'));

    const e = received.find((x) => (x.metadata as any).operation === 'handle NODE_START')! as any;
    expect(e.schema_version).toBe('2.0.0');
    expect(e.event_type).toBe('PERFORMANCE_PROFILE');
    expect(reader.stats().deadLettered).toBe(0);
    const m = e.metadata;
    expect(m.sample_count).toBe(20);
    const b = m.breakdown;
    expect(b.p50_ms).toBeGreaterThanOrEqual(24.5);
    expect(b.p50_ms).toBeLessThanOrEqual(b.p95_ms);
    expect(b.p95_ms).toBeLessThanOrEqual(b.p99_ms);
    expect(b.p99_ms).toBeLessThanOrEqual(b.max_ms * 1.001);
    expect(b.p50_ms).toBeLessThan(250);
    expect(m.duration_ms).toBeGreaterThanOrEqual(24.5);
    expect(m.memory_peak_bytes).toBeGreaterThan(0);
    expect(typeof b.event_loop_delay_max_ms).toBe('number');
    // The producer's send path was profiled too.
    await waitFor('the send path profile', () => received.some((x) => (x.metadata as any).operation === `send ${work}` && (x.metadata as any).sample_count === 20));
  });

  it('onex profile --json prints the profiles of one node with their p99 trend', async () => {
    const topic = uniqueTopic('profile-cli');
    await createTopic(p, topic);
    const producer = new OnexProducer({ kafka: p.kafka, topic, codec: p.codec, schemaVersion: '1.3.0', metricsRegistry: new Registry(), sampling: { enabled: false }, batch: { lingerMs: 1 } });
    closers.push(() => producer.close());
    const emit = (node: string, p99: number) =>
      producer.emit({ node_id: node, event_type: 'PERFORMANCE_PROFILE', metadata: { operation: 'handle X', duration_ms: p99 / 2, sample_count: 5, breakdown: { p50_ms: p99 / 2, p95_ms: p99, p99_ms: p99, max_ms: p99 } } });
    await emit('a_node-1', 10);
    await emit('b_node-2', 99);
    await emit('a_node-1', 30);
    const run = await runOnex(['profile', '--topic', topic, '--node', 'a_node-1', '--json', '--from-beginning', '--max', '2', '--timeout', '20000'], {
      env: { ...process.env, KAFKA_BROKERS: p.brokers, SCHEMA_REGISTRY_URL: p.registry.url },
    });
    expect(run.code, run.stderr).toBe(0);
    const rows = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.node_id, r.operation, r.p99_ms, r.p99_trend_ms])).toEqual([
      ['a_node-1', 'handle X', 10, null],
      ['a_node-1', 'handle X', 30, 20],
    ]);
  });

  it('onex worker --profile-topic profiles its handlers and emits the profiles to the topic, the last window on SIGTERM', async () => {
    const work = uniqueTopic('profile-worker-in');
    const profiles = uniqueTopic('profile-worker-out');
    await createTopic(p, work);
    await createTopic(p, `${work}.dlq`);
    const dir = mkdtempSync(join(tmpdir(), 'onex-worker-profile-'));
    const handledFile = join(dir, 'handled');
    writeFileSync(handledFile, '');
    writeFileSync(join(dir, 'handlers.mjs'), [
      "import { appendFileSync } from 'node:fs';",
      `export const handlers = { NODE_START: () => new Promise((r) => setTimeout(r, 20)).then(() => appendFileSync(${JSON.stringify(handledFile)}, 'x')) };`,
      '',
    ].join('\n'));
    const args = ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--topic', work, '--group', `g-${work}`, '--handlers', join(dir, 'handlers.mjs'), '--from-beginning',
      '--profile-topic', profiles, '--profile-window', '60000', '-b', p.brokers, '--registry', p.registry.url];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ONEX_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
    closers.push(async () => void (child.exitCode === null && child.kill('SIGKILL')));
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));

    const input = new OnexProducer({ kafka: p.kafka, topic: work, codec: p.codec, schemaVersion: '2.0.0', metricsRegistry: new Registry(), sampling: { enabled: false }, batch: { lingerMs: 1 } });
    closers.push(() => input.close());
    for (let i = 0; i < 10; i++) await input.emit(eventOf('2.0.0'));
    await waitFor('the worker to say it profiles', () => stderr.includes(`profiling to ${profiles} every 60 s`), 60_000);
    const pid = /as node onex_worker-(\d+)/.exec(stderr)![1];
    // The window is a minute: nothing is emitted before SIGTERM, which closes the profiler and emits the window.
    await waitFor('10 handled', () => readFileSync(handledFile, 'utf8').length === 10, 60_000);
    child.kill('SIGTERM');
    expect(await exit, stderr.slice(-1500)).toBe(0);
    expect(stderr).toMatch(/worker stopped: 10 handled/);

    const received: AnyOnexEvent[] = [];
    const reader = worker(profiles, { PERFORMANCE_PROFILE: (e) => void received.push(e) });
    await reader.start();
    await waitFor('the handler profile', () => received.some((e) => (e.metadata as any)?.operation === 'handle NODE_START'));
    const e = received.find((x) => (x.metadata as any).operation === 'handle NODE_START')! as any;
    expect(e.node_id).toBe(`onex_worker-${pid}`);
    expect(e.schema_version).toBe('2.0.0');
    expect(reader.stats().deadLettered).toBe(0);
    expect(e.metadata.sample_count).toBe(10);
    expect(e.metadata.breakdown.p50_ms).toBeGreaterThanOrEqual(19.5);
    expect(e.metadata.breakdown.p50_ms).toBeLessThanOrEqual(e.metadata.breakdown.max_ms * 1.001);
  }, 120_000);
});
