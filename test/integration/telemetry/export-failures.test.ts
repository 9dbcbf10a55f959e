import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/dev/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { runOnex, spawnOnex, type OnexChild } from '../../support/cli.js';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { committedTotal, createTopic, eventOf, startPipeline, waitFor, type Pipeline } from '../worker/pipeline.js';

/**
 * An OTLP endpoint nobody listens on (the trace backend is down): the commands trace, every export fails, and the
 * pipeline goes on. The failures are logged (ONEX_TELEM_506, the first and then one in a hundred) and counted in
 * onex_trace_export_failures_total on the command's own /metrics. The standard OTEL_BSP_SCHEDULE_DELAY and
 * OTEL_EXPORTER_OTLP_TIMEOUT shorten the batch delay and the export timeout, so the first failure comes within a
 * second or two (and the variables are shown to be honoured).
 */
let p: Pipeline;
const children: OnexChild[] = [];
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await p?.close();
});

const otelEnv = { OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_EXPORTER_OTLP_TIMEOUT: '1000', ONEX_LOG_LEVEL: 'warn' };

/** onex_trace_export_failures_total as /metrics serves it; undefined while the counter is absent. */
async function failuresServed(metricsUrl: string): Promise<number | undefined> {
  const text = await fetch(metricsUrl).then((r) => r.text(), () => '');
  const line = text.split('\n').find((l) => l.startsWith('onex_trace_export_failures_total '));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('a trace backend that is down', () => {
  it('onex worker --otlp-endpoint: every record is handled, export failures are logged once and counted on /metrics', async () => {
    const topic = uniqueTopic('otlp-down-worker');
    await createTopic(p, topic, 1);
    await createTopic(p, `${topic}.dlq`, 1);
    const dir = mkdtempSync(join(tmpdir(), 'onex-otlp-down-'));
    writeFileSync(join(dir, 'handlers.mjs'), 'export const handlers = { "*": () => undefined };\n');
    const dead = `http://127.0.0.1:${await freePort()}`;
    const group = `g-${topic}`;
    const worker = spawnOnex(['worker', '--otlp-endpoint', dead, '--topic', topic, '--group', group, '--handlers', join(dir, 'handlers.mjs'), '--from-beginning', '--metrics-port', '0', '-b', p.brokers, '--registry', p.registry.url], { env: { ...process.env, ...otelEnv } });
    children.push(worker);
    await waitFor('the worker\'s metrics server', () => /health and metrics on (\S+)/.test(worker.stderr()), 60_000).catch((e: Error) => {
      throw new Error(`${e.message}; stderr: ${worker.stderr().slice(-1500)}`);
    });
    const metricsUrl = `${/health and metrics on (\S+)/.exec(worker.stderr())![1]}/metrics`;
    expect(worker.stderr()).toContain(`tracing to ${dead}/v1/traces`);

    const producer = new OnexProducer({ kafka: p.kafka, topic, codec: p.codec, schemaVersion: '2.0.0', metricsRegistry: new Registry(), sampling: { enabled: false }, batch: { lingerMs: 1 } });
    try {
      for (let i = 0; i < 20; i++) await producer.emit(eventOf('2.0.0'));
    } finally {
      await producer.close();
    }
    await waitFor('the worker to commit all 20 records', async () => (await committedTotal(p, group, topic)) === 20, 60_000, 200);
    let served: number | undefined;
    await waitFor('failed exports on /metrics', async () => ((served = await failuresServed(metricsUrl)) ?? 0) > 0, 30_000, 250).catch((e: Error) => {
      throw new Error(`${e.message} (served: ${served}); stderr: ${worker.stderr().slice(-1500)}`);
    });
    // Every process span of the 20 records was sent and lost (the counter counts spans, not requests).
    await waitFor('all 20 process spans counted', async () => ((served = await failuresServed(metricsUrl)) ?? 0) >= 20, 30_000, 250).catch((e: Error) => {
      throw new Error(`${e.message} (served: ${served})`);
    });
    const warnings = worker.stderr().split('\n').filter((l) => l.includes('ONEX_TELEM_506'));
    expect(warnings.length, worker.stderr().slice(-1500)).toBeGreaterThanOrEqual(1);
    // Logged the first time and then one in a hundred, not once per failed batch.
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, code: 'ONEX_TELEM_506', url: `${dead}/v1/traces` });

    worker.child.kill('SIGTERM');
    expect(await worker.exited, worker.stderr().slice(-1500)).toBe(0);
    expect(worker.stderr()).toMatch(/worker stopped: 20 handled, 0 without a handler, 0 dead-lettered/);
  }, 120_000);

  it('onex dev --otlp-endpoint: the run balances its books and its /metrics counts the lost spans', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const metricsPort = await freePort();
    const run = runOnex(['dev', '--otlp-endpoint', dead, '--duration', '6', '--rate', '100', '--registry-port', '0', '--metrics-port', String(metricsPort), '--poison-every', '0', '--no-alerts'], {
      env: { ...process.env, ...otelEnv, KAFKA_BROKERS: kafkaBrokers().join(',') },
      timeoutMs: 120_000,
    });
    let served: number | undefined;
    let finished = false;
    void run.finally(() => (finished = true));
    await waitFor('failed exports on the dev /metrics', async () => finished || ((served = await failuresServed(`http://127.0.0.1:${metricsPort}/metrics`)) ?? 0) > 0, 60_000, 250);
    const done = await run;
    expect(done.code, done.stderr.slice(-2000)).toBe(0);
    expect(served, `onex dev's /metrics never showed onex_trace_export_failures_total above 0; stderr: ${done.stderr.slice(-1500)}`).toBeGreaterThan(0);
    expect(done.stderr).toContain('ONEX_TELEM_506');
    const summary = JSON.parse(done.stdout.trim().split('\n').at(-1)!) as { balanced: boolean; produced: number };
    expect(summary.balanced).toBe(true);
    expect(summary.produced).toBeGreaterThan(100);
  }, 120_000);
});
