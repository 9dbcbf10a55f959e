import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { KafkaStore, createRegistryServer } from '../../../src/registry/index.js';
import { REPO_ROOT } from '../../support/cli.js';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { formatTimestamp } from '../../../src/event/index.js';
import { createTopic, encoded, produce, produceEvents, readTopic, startPipeline, waitFor, type Pipeline } from '../worker/pipeline.js';

// /healthz and /readyz of the long-running commands, on the real broker and a real registry: readiness follows the
// consumer group (503 until partitions are assigned), and turns 503 while SIGTERM drains the record in hand, while
// liveness stays 200 until the process exits.

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const RECORDER = fileURLToPath(new URL('../../fixtures/handlers/record-events.mjs', import.meta.url));

let p: Pipeline;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  p = await startPipeline();
  dir = mkdtempSync(join(tmpdir(), 'onex-health-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await p?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
  /** http://host:port of its metrics and health server, from the line it prints. */
  base: Promise<string>;
}

function spawnOnex(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, KAFKA_BROKERS: p.brokers, SCHEMA_REGISTRY_URL: p.registry.url, ONEX_LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const base = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr += d;
      const m = /health and metrics on (http:\/\/\S+) /.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exit.then((code) => reject(new Error(`onex ${args[0]} exited ${code} before serving health: ${stderr}`)));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exit, base };
}

async function probe(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('onex worker --metrics-port', () => {
  it('/readyz is 503 until the group assigns partitions, then 200; during the SIGTERM drain 503 while /healthz stays 200', async () => {
    const topic = uniqueTopic('health-worker');
    await createTopic(p, topic, 2);
    const record = join(dir, 'worker.txt');
    // Each event holds the handler 4 s, so the drain after SIGTERM lasts long enough for the probes below to see it on a
    // loaded machine (at 1.5 s a probe scheduled late found the worker already gone).
    const w = spawnOnex(['worker', '--handlers', RECORDER, '--topic', topic, '--group', uniqueTopic('health-g'), '--metrics-port', '0', '--session-timeout', '6000'], {
      ONEX_TEST_RECORD_FILE: record,
      ONEX_TEST_HANDLER_DELAY_MS: '4000',
    });
    onTestFailed(() => void process.stderr.write(`worker stderr:\n${w.stderr()}\n`));
    const base = await w.base;

    // The server is up before the worker connects: the first answer is not ready, and says the group is why.
    const first = await probe(`${base}/readyz`);
    expect(first.status).toBe(503);
    expect(first.body).toMatchObject({ status: 'not ready', ready: false, draining: false, checks: { worker: { ok: false } } });
    expect(String((first.body.checks as Record<string, { detail: string }>).worker!.detail)).toMatch(/group: not in the group yet|running: not started|kafka: not connected/);
    expect((await probe(`${base}/healthz`)).status).toBe(200);

    let ready = first;
    await waitFor('worker /readyz 200', async () => (ready = await probe(`${base}/readyz`)).status === 200, 30_000, 100);
    expect(ready.body).toMatchObject({ status: 'ready', ready: true, draining: false, checks: { worker: { ok: true }, registry: { ok: true } } });
    expect(String((ready.body.checks as Record<string, { detail: string }>).worker!.detail)).toContain(`${topic}[0,1]`);

    // /metrics is on the same port.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^process_cpu_user_seconds_total /m);

    await produceEvents(p, topic, 4);
    await waitFor('the first event handled', () => existsSync(record) && readFileSync(record, 'utf8').length > 0, 30_000);
    w.child.kill('SIGTERM');
    // The worker holds a sleeping handler: it is still alive, not ready, and says it is draining.
    let draining = ready;
    await waitFor('worker /readyz 503 draining', async () => (draining = await probe(`${base}/readyz`)).status === 503, 5_000, 50);
    expect(draining.body).toMatchObject({ status: 'not ready', ready: false, draining: true, checks: { draining: { ok: false, detail: 'shutting down' } } });
    expect(await probe(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(w.child.exitCode).toBeNull();
    expect(await w.exit).toBe(0);
    // Drained, not dropped: what it handled, it finished (a line per event it started).
    expect(readFileSync(record, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(1);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

/** The sum of a metric's samples in a /metrics text whose labels include `labels` (e.g. `schema_version="1.0.0"`). */
function metricSum(text: string, name: string, labels: string[] = []): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m?.[1] !== name || !labels.every((l) => (m[2] ?? '').split(',').includes(l))) continue;
    sum += Number(m[3]);
  }
  return sum;
}

describe('onex produce --metrics-port', () => {
  it('serves the producers\' /metrics, /readyz 200 once every producer started; SIGTERM stops emitting, delivers what is in flight, exit 0', async () => {
    const topic = uniqueTopic('health-produce');
    const prod = spawnOnex(['produce', '--topic', topic, '--count', '1000000', '--rate', '300', '--versions', '1.0.0,2.0.0', '--metrics-port', '0']);
    onTestFailed(() => void process.stderr.write(`produce stderr:\n${prod.stderr()}\n`));
    const base = await prod.base;
    // The server is up before the producers have connected and registered their schemas.
    let ready = await probe(`${base}/readyz`);
    expect(ready).toMatchObject({ status: 503, body: { ready: false, checks: { producer: { ok: false } } } });
    expect((await probe(`${base}/healthz`)).status).toBe(200);
    await waitFor('produce /readyz 200', async () => (ready = await probe(`${base}/readyz`)).status === 200, 30_000, 100);
    expect(ready.body).toMatchObject({ ready: true, checks: { producer: { ok: true }, registry: { ok: true, detail: p.registry.url } } });
    expect(String((ready.body.checks as Record<string, { detail: string }>).producer!.detail)).toBe('1.0.0; 2.0.0');

    // The counters move while it runs, for each version it writes.
    const scrape = async () => (await fetch(`${base}/metrics`)).text();
    let first = '';
    await waitFor('events emitted', async () => metricSum((first = await scrape()), 'onex_events_emitted_total', ['schema_version="2.0.0"']) > 0, 30_000, 100);
    const before = metricSum(first, 'onex_events_emitted_total');
    await waitFor('more events emitted', async () => metricSum(await scrape(), 'onex_events_emitted_total') >= before + 100, 30_000, 100);
    const now = await scrape();
    expect(metricSum(now, 'onex_events_emitted_total', ['schema_version="1.0.0"'])).toBeGreaterThan(0);
    expect(metricSum(now, 'onex_events_failed_total')).toBe(0);
    expect(now).toMatch(/^process_cpu_user_seconds_total /m);

    prod.child.kill('SIGTERM');
    expect(await prod.exit).toBe(0);
    const summary = JSON.parse(prod.stdout().trim()) as { sent: number; rejected: number };
    expect(summary.rejected).toBe(0);
    expect(summary.sent).toBeGreaterThan(before);
    // Stopped early, nothing accepted lost: every event it counts as sent is in the topic.
    const offsets = await p.admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)).toBe(summary.sent);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

describe('onex alerts run --metrics-port', () => {
  it('/readyz 200 once its partitions are restored; /metrics counts the records, commits and the firing alert as events flow; SIGTERM drains, exit 0', async () => {
    const topic = uniqueTopic('health-alerts');
    // The alerts topic is left for the processor to create, as `onex alerts run` in compose must.
    const alertsTopic = uniqueTopic('health-alerts-out');
    await createTopic(p, topic, 2);
    const rules = join(dir, 'alert-rules.yaml');
    writeFileSync(rules, "rules:\n  - name: burst\n    kind: threshold\n    match: 'event.event_type == \"NODE_FAILURE\"'\n    by: [node_id]\n    window: 60s\n    count: 3\n");
    const a = spawnOnex(['alerts', 'run', '--rules', rules, '--topic', topic, '--group', uniqueTopic('health-alerts-g'), '--alerts-topic', alertsTopic, '--metrics-port', '0', '--tick', '200ms', '--session-timeout', '6s']);
    onTestFailed(() => void process.stderr.write(`alerts stderr:\n${a.stderr()}\n`));
    const base = await a.base;
    let ready = await probe(`${base}/readyz`);
    expect(ready).toMatchObject({ status: 503, body: { ready: false, checks: { processor: { ok: false } } } });
    await waitFor('alerts /readyz 200', async () => (ready = await probe(`${base}/readyz`)).status === 200, 30_000, 100);
    expect(ready.body).toMatchObject({ ready: true, checks: { processor: { ok: true }, registry: { ok: true } } });
    expect(String((ready.body.checks as Record<string, { detail: string }>).processor!.detail)).toContain('[0,1]');
    const scrape = async () => (await fetch(`${base}/metrics`)).text();
    expect(metricSum(await scrape(), 'onex_processor_records_in_total')).toBe(0);

    // Three failures of one node now: the burst rule fires (one ALERT_TRIGGERED), in one committed transaction or more.
    const failure = () => encoded(p, '2.0.0', { node_id: 'node_h', event_type: 'NODE_FAILURE', timestamp: formatTimestamp(Date.now() * 1000), metadata: { input_state: {}, error: 'boom' } }).input;
    await produce(p, topic, [failure(), failure(), failure()].map((i) => ({ ...i, key: 'node_h' })));
    let m = '';
    await waitFor('3 records in', async () => metricSum((m = await scrape()), 'onex_processor_records_in_total') >= 3, 30_000, 100);
    await waitFor('burst firing', async () => metricSum((m = await scrape()), 'onex_alerts', ['rule="burst"', 'state="firing"']) === 1, 10_000, 100);
    onTestFailed(() => void process.stderr.write(`alerts metrics:\n${m.split('\n').filter((l) => l.startsWith('onex_')).join('\n')}\n`));
    expect(metricSum(m, 'onex_processor_records_out_total')).toBeGreaterThanOrEqual(1);
    expect(metricSum(m, 'onex_processor_transactions_total', ['result="commit"'])).toBeGreaterThanOrEqual(1);
    expect(metricSum(m, 'onex_processor_transactions_total', ['result="abort"'])).toBe(0);
    expect(a.stdout()).toMatch(/ firing +burst \{"node_id":"node_h"\} /);
    const [alert] = await readTopic(p, alertsTopic, 1, 20_000);
    expect((await p.codec.decode<Record<string, unknown>>(alert!.value!, '2.0.0')).event.event_type).toBe('ALERT_TRIGGERED');

    // More events move the counters on; still no abort.
    await produceEvents(p, topic, 10, '2.0.0');
    await waitFor('13 records in', async () => metricSum((m = await scrape()), 'onex_processor_records_in_total') >= 13, 30_000, 100);
    expect(metricSum(m, 'onex_processor_transactions_total', ['result="abort"'])).toBe(0);

    a.child.kill('SIGTERM');
    expect(await a.exit).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

describe('registry /readyz', () => {
  it('follows its Kafka store: 503 while the state is rebuilt, 200 with the store consumer in its group, 503 once closed; probes need no credentials', async () => {
    const store = new KafkaStore({ brokers: kafkaBrokers(), topic: uniqueTopic('health-schemas') });
    const server = createRegistryServer({ store, auth: { users: { admin: 'secret' }, scope: 'all' } });
    try {
      const before = await server.app.inject('/readyz');
      expect(before.statusCode).toBe(503);
      expect(before.json()).toMatchObject({ ready: false, checks: { store: { ok: false, detail: 'rebuilding the state' } } });
      expect((await server.app.inject('/healthz')).statusCode).toBe(200);

      const url = await server.listen(0);
      let r = await probe(`${url}/readyz`);
      await waitFor('registry /readyz 200', async () => (r = await probe(`${url}/readyz`)).status === 200, 20_000, 100);
      expect(r.body).toMatchObject({ status: 'ready', checks: { store: { ok: true } } });
      expect(String((r.body.checks as Record<string, { detail: string }>).store!.detail)).toMatch(/kafka; group: .*\[0\]/);
      // The API itself still wants credentials; the probes do not.
      expect((await fetch(`${url}/subjects`)).status).toBe(401);
      expect((await probe(`${url}/healthz`)).status).toBe(200);

      await store.close();
      const closed = await server.app.inject('/readyz');
      expect(closed.statusCode).toBe(503);
      expect(closed.json()).toMatchObject({ checks: { store: { ok: false, detail: 'closed' } } });
    } finally {
      await server.close();
    }
  });

  it('onex registry serve --shutdown-delay: /readyz 503 and /healthz 200 for the delay after SIGTERM, then exit 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'registry', 'serve', '--port', '0', '--memory', '--shutdown-delay', '1500'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ONEX_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!.trim());
      });
      void exit.then((code) => reject(new Error(`registry exited ${code}`)));
    });
    expect((await probe(`${url}/readyz`)).status).toBe(200);
    const signalled = Date.now();
    child.kill('SIGTERM');
    let r = await probe(`${url}/readyz`);
    await waitFor('registry /readyz 503', async () => (r = await probe(`${url}/readyz`)).status === 503, 1_000, 20);
    expect(r.body).toMatchObject({ draining: true });
    expect((await probe(`${url}/healthz`)).status).toBe(200);
    expect(await exit).toBe(0);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(1_400);
  });
});
