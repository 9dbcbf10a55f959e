import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { formatTimestamp } from '../../../src/event/index.js';
import { isOnexError } from '../../../src/errors/index.js';
import { createAlertProcessor, loadRules, postAlert, type AlertTransition } from '../../../src/processors/alerting/index.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, encoded, produce, readTopic, waitFor } from '../worker/pipeline.js';
import { usePipeline } from './shared.js';

/** A real HTTP server on 127.0.0.1 standing in for Alertmanager: it keeps every request and answers as `answer` says. */
interface Hook {
  url: string;
  requests: Array<{ method: string; path: string; headers: IncomingHttpHeaders; body: string }>;
  answer: (n: number) => number;
  close(): Promise<void>;
}

async function startHook(answer: (n: number) => number): Promise<Hook> {
  const hook = { requests: [], answer } as unknown as Hook;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hook.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = hook.answer(hook.requests.length);
      res.end(res.statusCode < 300 ? '' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2/alerts`;
  hook.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return hook;
}

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const transition = (state: AlertTransition['state']): AlertTransition => ({
  rule: 'burst', kind: 'threshold', key: { node_id: 'n1' }, state, at: T0 + (state === 'resolved' ? 90_000 : 0), alertId: 'a1', partition: 0,
  fingerprint: 'f1', activeAt: T0, count: 3, value: 3, labels: { severity: 'page' }, annotations: { summary: 'n1 failed 3 times' }, correlationIds: ['c1'],
});
const fast = { initialMs: 20, multiplier: 2, maxMs: 100, jitter: 0 };

describe('alert webhook against a real HTTP server', () => {
  it('POSTs the Alertmanager v2 body as JSON, retries 5xx and 429 until it is taken, and gives up on a 4xx at once', async () => {
    // 503, 429, then 200: three requests, one body.
    const hook = await startHook((n) => [503, 429][n - 1] ?? 200);
    try {
      await postAlert(transition('firing'), { url: hook.url, backoff: fast });
      expect(hook.requests.length).toBe(3);
      for (const r of hook.requests) {
        expect(r).toMatchObject({ method: 'POST', path: '/api/v2/alerts' });
        expect(r.headers['content-type']).toBe('application/json');
        expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
        expect(r.body).toBe(hook.requests[0]!.body);
      }
      expect(JSON.parse(hook.requests[0]!.body)).toEqual([{
        labels: { alertname: 'burst', node_id: 'n1', severity: 'page' }, annotations: { summary: 'n1 failed 3 times' }, startsAt: '2026-01-01T00:00:00.000Z',
      }]);

      hook.requests.length = 0;
      hook.answer = () => 200;
      await postAlert(transition('resolved'), { url: hook.url, backoff: fast });
      expect(JSON.parse(hook.requests[0]!.body)).toEqual([{
        labels: { alertname: 'burst', node_id: 'n1', severity: 'page' }, annotations: { summary: 'n1 failed 3 times' },
        startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2026-01-01T00:01:30.000Z',
      }]);
      // Pending is not an Alertmanager alert: nothing is posted.
      await postAlert(transition('pending'), { url: hook.url, backoff: fast });
      expect(hook.requests.length).toBe(1);

      hook.requests.length = 0;
      hook.answer = () => 400;
      const refused = await postAlert(transition('firing'), { url: hook.url, backoff: fast }).catch((e: unknown) => e);
      expect(isOnexError(refused) && refused.code).toBe('ONEX_EVENT_620');
      expect((refused as Error).message).toContain('HTTP 400');
      expect(hook.requests.length).toBe(1);

      hook.requests.length = 0;
      hook.answer = () => 500;
      const failed = await postAlert(transition('firing'), { url: hook.url, backoff: fast, attempts: 4 }).catch((e: unknown) => e);
      expect(isOnexError(failed) && failed.code).toBe('ONEX_EVENT_620');
      expect((failed as Error).message).toContain('HTTP 500');
      expect(hook.requests.length).toBe(4);
    } finally {
      await hook.close();
    }
    // Nobody listening: connection refused is retried too, then ONEX_EVENT_620.
    const gone = await postAlert(transition('firing'), { url: hook.url, backoff: fast, attempts: 2 }).catch((e: unknown) => e);
    expect(isOnexError(gone) && gone.code).toBe('ONEX_EVENT_620');
  });
});

describe('alert processor with a failing webhook, on a real broker', () => {
  const shared = usePipeline();

  it('a webhook answering 500 to everything loses and duplicates no ALERT event, and the processor goes on', async () => {
    const hook = await startHook(() => 500);
    const topic = uniqueTopic('alerts-hook-in');
    const alertsTopic = uniqueTopic('alerts-hook-out');
    await createTopic(shared.p, topic, 1);
    await createTopic(shared.p, alertsTopic, 1);
    const seen: AlertTransition[] = [];
    const rules = loadRules("rules:\n  - name: burst\n    kind: threshold\n    match: 'event.node_id.startsWith(\"burst\")'\n    by: [node_id]\n    window: 2s\n    count: 2\n").rules;
    const proc = createAlertProcessor({
      kafka: shared.p.kafka, groupId: `alerts-hook-${randomUUID()}`, topic, decoder: shared.p.codec, rules, alertsTopic, webhookUrl: hook.url,
      encode: (e) => shared.p.codec.encode(e, '2.0.0'), fromBeginning: true, metricsRegistry: new Registry(),
      allowedLatenessMs: 0, tick: { intervalMs: 200, idleAfterMs: 300 }, onTransition: (t) => seen.push(t),
    });
    shared.processors.push(proc);
    try {
      await proc.start();
      await proc.ready();
      const now = Date.now();
      const at = (ms: number) => formatTimestamp((now + ms) * 1000);
      await produce(shared.p, topic, [0, 10].map((ms) => encoded(shared.p, '2.0.0', { node_id: 'burst-a', timestamp: at(ms) }).input));
      // The first body is refused; events after it are still processed and alerted on.
      await waitFor('the webhook to refuse the first alert', () => hook.requests.length > 0, 20_000);
      await produce(shared.p, topic, [20, 30].map((ms) => encoded(shared.p, '2.0.0', { node_id: 'burst-b', timestamp: at(ms) }).input));
      const records = await readTopic(shared.p, alertsTopic, 4, 30_000);
      // Each of the 4 firing / resolved transitions (pending is not posted) is tried 5 times, with backoff.
      await waitFor('5 attempts at each of the 4 bodies', () => hook.requests.length >= 20, 30_000);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(hook.requests.length).toBe(20);
      const bodies = new Map<string, number>();
      for (const r of hook.requests) bodies.set(r.body, (bodies.get(r.body) ?? 0) + 1);
      expect([...bodies.values()]).toEqual([5, 5, 5, 5]);
      // Read committed: exactly the four ALERT events, one per transition, nothing more behind them.
      const events = await Promise.all(records.map(async (r) => (await shared.p.codec.decode<Record<string, unknown>>(r.value, '2.0.0')).event));
      const lines = events.map((e) => {
        const m = (e.metadata as { untyped: { key: { node_id: string }; alert_id: string } }).untyped;
        return `${m.key.node_id} ${String(e.event_type)} ${m.alert_id}`;
      }).sort();
      const expected = seen.filter((t) => t.state !== 'pending').map((t) => `${t.key.node_id} ${t.state === 'firing' ? 'ALERT_TRIGGERED' : 'ALERT_RESOLVED'} ${t.alertId}`).sort();
      expect(lines).toEqual(expected);
      expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['burst-a ALERT_RESOLVED', 'burst-a ALERT_TRIGGERED', 'burst-b ALERT_RESOLVED', 'burst-b ALERT_TRIGGERED']);
      await expect(readTopic(shared.p, alertsTopic, 5, 3_000)).rejects.toThrow('read 4 of 5 records');
    } finally {
      await proc.stop();
      await hook.close();
    }
  }, 90_000);
});
