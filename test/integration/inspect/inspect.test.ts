import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTimestamp } from '../../../src/event/index.js';
import { startInspectServer, type InspectServer } from '../../../src/inspect/index.js';
import { CorrelationLookup, createCorrelationIndex, type Processor } from '../../../src/processors/index.js';
import { launchBrowser } from '../../support/browser.js';
import { REPO_ROOT } from '../../support/cli.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, encoded, produce, readTopic, startPipeline, waitFor, type Pipeline } from '../worker/pipeline.js';

let p: Pipeline;
let browser: Browser | undefined;
let server: InspectServer | undefined;
let index: Processor | undefined;
beforeAll(async () => {
  [p, browser] = await Promise.all([startPipeline(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await index?.stop();
  await p?.close();
});

const BASE_MS = Date.UTC(2026, 0, 2, 3, 4, 5);
const at = (ms: number) => formatTimestamp(ms * 1000);

describe('onex inspect serve in a real browser', () => {
  it('draws a flow from the broker as a waterfall: a bar per node placed and sized by its times, the failure red, events on click; replays from the page', async () => {
    const source = uniqueTopic('inspect-src');
    const indexTopic = uniqueTopic('inspect-index');
    await createTopic(p, source, 3);
    const [root, child] = [randomUUID(), randomUUID()];
    const trace = randomBytes(16).toString('hex');
    const ev = (correlation_id: string, node_id: string, event_type: string, ms: number, extra: Record<string, unknown> = {}) =>
      encoded(p, '1.3.0', { correlation_id, node_id, event_type, trace_id: trace, timestamp: at(BASE_MS + ms), ...extra }).input;
    const meta = (extra: Record<string, unknown>) => ({ metadata: { input_state: { file: 'a.py' }, ...extra } });
    await produce(p, source, [
      ev(root, 'gateway_node-1', 'NODE_START', 0),
      ev(child, 'worker_node-1', 'NODE_START', 50, { parent_correlation_id: root }),
      ev(root, 'db_node-1', 'NODE_START', 100),
      ev(root, 'db_node-1', 'NODE_SUCCESS', 150, meta({ output_state: { rows: 3 } })),
      ev(child, 'worker_node-1', 'NODE_FAILURE', 250, { parent_correlation_id: root, error_code: 'ONEX_EVENT_610', ...meta({ error: 'boom' }) }),
      ev(root, 'gateway_node-1', 'NODE_SUCCESS', 300, meta({ output_state: { ok: true } })),
    ]);
    index = createCorrelationIndex({ kafka: p.kafka, groupId: `inspect-${randomUUID()}`, topic: source, indexTopic, decoder: p.codec, fromBeginning: true, metricsRegistry: new Registry() });
    await index.start();
    await waitFor('the flows indexed', async () => {
      const l = new CorrelationLookup(p.kafka, indexTopic);
      return (await l.flow(root))?.count === 4 && (await l.flow(child))?.count === 2 && (await l.flow(root))?.children.length === 1;
    }, 30_000);

    const replayTopic = uniqueTopic('inspect-replay');
    server = await startInspectServer({ kafka: p.kafka, decoder: p.codec, topic: source, indexTopic, replayTopic, port: 0, metricsRegistry: new Registry() });
    const get = async (path: string) => {
      const r = await fetch(`${server!.url}${path}`);
      return { status: r.status, text: await r.text() };
    };
    expect((await get('/healthz')).status).toBe(200);
    expect(await get('/readyz')).toMatchObject({ status: 200 });
    const missing = await get(`/api/correlations/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toMatchObject({ code: 'ONEX_RT_431' });
    expect(JSON.parse((await get(`/api/traces/${trace}`)).text)).toMatchObject({ flows: 2, events: 6 });

    const page = await browser!.newPage({ viewport: { width: 1200, height: 500 } });
    await page.goto(`${server.url}/flows/${root}`);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 20_000 });
    const bars = await page.$$eval('.bar', (els) =>
      els.map((e) => {
        const b = e.getBoundingClientRect();
        const lane = e.parentElement!.getBoundingClientRect();
        return { kind: e.classList.contains('flow') ? 'flow' : 'span', node: e.getAttribute('data-node'), status: e.getAttribute('data-status'), left: (b.left - lane.left) / lane.width, width: b.width / lane.width, colour: (globalThis as unknown as { getComputedStyle(el: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor };
      }),
    );
    expect(bars.filter((b) => b.kind === 'flow')).toHaveLength(2);
    const spans = Object.fromEntries(bars.filter((b) => b.kind === 'span').map((b) => [b.node, b]));
    expect(Object.keys(spans).sort()).toEqual(['db_node-1', 'gateway_node-1', 'worker_node-1']);
    // The trace runs 300 ms: gateway 0-300, worker 50-250, db 100-150.
    const close = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThan(0.01);
    close(spans['gateway_node-1']!.left, 0);
    close(spans['gateway_node-1']!.width, 1);
    close(spans['worker_node-1']!.left, 50 / 300);
    close(spans['worker_node-1']!.width, 200 / 300);
    close(spans['db_node-1']!.left, 100 / 300);
    close(spans['db_node-1']!.width, 50 / 300);
    expect(spans['worker_node-1']).toMatchObject({ status: 'failure', colour: 'rgb(220, 38, 38)' });
    expect(spans['db_node-1']!.status).toBe('success');
    expect(spans['db_node-1']!.colour).not.toBe(spans['worker_node-1']!.colour);

    await page.click('.bar[data-node="worker_node-1"]');
    const details = await page.textContent('#details');
    expect(details).toContain('NODE_FAILURE');
    expect(details).toContain('ONEX_EVENT_610');
    expect(details, 'the metadata of the event').toContain('boom');
    mkdirSync(`${REPO_ROOT}/test-results`, { recursive: true });
    await page.screenshot({ path: `${REPO_ROOT}/test-results/inspect-waterfall.png`, fullPage: true });

    await page.fill('#speed', 'max');
    await page.click('#replay');
    await page.waitForSelector('#replay-status[data-state="done"]', { timeout: 20_000 });
    expect(await page.textContent('#replay-status')).toBe(`replayed 4 events to ${replayTopic}`);
    expect(await readTopic(p, replayTopic, 4)).toHaveLength(4);

    const metrics = (await get('/metrics')).text;
    expect(metrics).toMatch(/onex_inspect_requests_total\{route="\/api\/correlations\/\{id\}",status="200"\} [1-9]/);
    expect(metrics).toMatch(/onex_inspect_requests_total\{route="\/api\/correlations\/\{id\}",status="404"\} 1/);
  });
});
