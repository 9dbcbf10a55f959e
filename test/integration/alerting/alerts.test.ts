import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { formatTimestamp } from '../../../src/event/index.js';
import { createAlertProcessor, loadRules, type AlertTransition } from '../../../src/processors/alerting/index.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, encoded, produce, readTopic } from '../worker/pipeline.js';
import { usePipeline } from './shared.js';

const shared = usePipeline();

const RULES = `
rules:
  - name: burst
    kind: threshold
    match: 'event.node_id == "burst"'
    by: [node_id]
    window: 3s
    count: 3
    labels: { severity: page }
    annotations: { summary: '{{ $key.node_id }} {{ $count }} times' }
  - name: quiet
    kind: absence
    match: 'event.node_id == "quiet"'
    by: [node_id]
    window: 2s
  - name: legacy
    kind: deprecated_schema
    versions: ['1.0.0']
    match: 'event.node_id == "legacy"'
    window: 2s
`;

describe('alert processor on a real broker', () => {
  it('threshold, absence (idle key, no further input) and deprecated schema fire and resolve as ALERT events on the alerts topic', async () => {
    const topic = uniqueTopic('alerts-in');
    const alertsTopic = uniqueTopic('alerts-out');
    await createTopic(shared.p, topic, 1);
    await createTopic(shared.p, alertsTopic, 1);
    const registry = new Registry();
    const seen: AlertTransition[] = [];
    const proc = createAlertProcessor({
      kafka: shared.p.kafka, groupId: `alerts-${randomUUID()}`, topic, decoder: shared.p.codec, rules: loadRules(RULES).rules, alertsTopic,
      encode: (e) => shared.p.codec.encode(e, '2.0.0'), fromBeginning: true, metricsRegistry: registry,
      allowedLatenessMs: 0, tick: { intervalMs: 200, idleAfterMs: 300 }, onTransition: (t) => seen.push(t),
    });
    shared.processors.push(proc);
    await proc.start();
    await proc.ready();
    const now = Date.now();
    const at = (ms: number) => formatTimestamp((now + ms) * 1000);
    await produce(shared.p, topic, [
      encoded(shared.p, '2.0.0', { node_id: 'burst', timestamp: at(0) }),
      encoded(shared.p, '2.0.0', { node_id: 'burst', timestamp: at(10) }),
      encoded(shared.p, '2.0.0', { node_id: 'quiet', timestamp: at(20) }),
      encoded(shared.p, '1.0.0', { node_id: 'legacy', timestamp: at(30) }),
      encoded(shared.p, '2.0.0', { node_id: 'burst', timestamp: at(40) }),
    ].map((e) => e.input));
    const records = await readTopic(shared.p, alertsTopic, 5, 30_000);
    const gauge = (await registry.getMetricsAsJSON()).find((m) => m.name === 'onex_alerts')!;
    await proc.stop();
    const events = await Promise.all(records.map(async (r) => (await shared.p.codec.decode<Record<string, unknown>>(r.value, '2.0.0')).event));
    const meta = (e: Record<string, unknown>) => (e.metadata as { untyped: Record<string, unknown> }).untyped;
    const lines = events.map((e) => `${String(meta(e).rule)} ${String(e.event_type)} ${String(meta(e).active_at)}`).sort();
    const iso = (ms: number) => new Date(now + ms).toISOString();
    expect(lines).toEqual([
      `burst ALERT_RESOLVED ${iso(40)}`, `burst ALERT_TRIGGERED ${iso(40)}`,
      `legacy ALERT_RESOLVED ${iso(30)}`, `legacy ALERT_TRIGGERED ${iso(30)}`,
      `quiet ALERT_TRIGGERED ${iso(2020)}`,
    ]);
    // Exact event times: the burst resolves when its first event leaves the 3 s window, the legacy event after 2 s.
    const resolvedAt = (rule: string) => seen.find((t) => t.rule === rule && t.state === 'resolved')?.at;
    expect([resolvedAt('burst'), resolvedAt('legacy')]).toEqual([now + 3000, now + 2030]);
    const burst = events.find((e) => meta(e).rule === 'burst' && e.event_type === 'ALERT_TRIGGERED')!;
    expect(meta(burst)).toMatchObject({ key: { node_id: 'burst' }, count: 3, annotations: { summary: 'burst 3 times' } });
    expect((meta(burst).correlation_ids as string[]).length).toBe(3);
    expect(gauge.values.find((v) => v.labels.rule === 'quiet' && v.labels.state === 'firing')?.value).toBe(1);
  }, 60_000);
});
