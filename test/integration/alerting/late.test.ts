import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { formatTimestamp } from '../../../src/event/index.js';
import { createAlertProcessor, loadRules, type AlertTransition } from '../../../src/processors/alerting/index.js';
import type { LatePolicy } from '../../../src/processors/index.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, encoded, produce, readTopic, waitFor } from '../worker/pipeline.js';
import { usePipeline } from './shared.js';

/**
 * Out-of-order and late events through the alert processor on a real broker, event time only. Per node `x`, events
 * at 20 s, 26 s, then 25 s (1 s behind the largest, inside the 2 s of allowed lateness: it counts) and 15.5 s
 * (behind the watermark of 24 s: late). `three` needs the out-of-order event; `four` needs the late one too, so it
 * fires only when late events are processed.
 */
const RULES = `
rules:
  - name: three
    kind: threshold
    match: 'event.node_id == "x"'
    by: [node_id]
    window: 10s
    count: 3
  - name: four
    kind: threshold
    match: 'event.node_id == "x"'
    by: [node_id]
    window: 20s
    count: 4
`;

const shared = usePipeline();

async function run(topic: string, late: LatePolicy, alertsTopic: string) {
  const registry = new Registry();
  const seen: AlertTransition[] = [];
  const proc = createAlertProcessor({
    kafka: shared.p.kafka, groupId: `alerts-late-${randomUUID()}`, topic, decoder: shared.p.codec, rules: loadRules(RULES).rules, alertsTopic,
    encode: (e) => shared.p.codec.encode(e, '2.0.0'), fromBeginning: true, metricsRegistry: registry,
    allowedLatenessMs: 2_000, late, tick: false, onTransition: (t) => seen.push(t),
  });
  shared.processors.push(proc);
  await proc.start();
  await waitFor('all four events committed', () => proc.stats().recordsIn === 4, 30_000);
  await proc.stop();
  const late_ = (await registry.getMetricsAsJSON()).find((m) => m.name === 'onex_processor_late_events_total')!;
  return { firing: seen.filter((t) => t.state === 'firing').map((t) => `${t.rule} ${t.at - T0} ${t.count}`), late: late_.values, stats: proc.stats() };
}

const T0 = Date.UTC(2026, 0, 1);

describe('late and out-of-order events through the alert processor on a real broker', () => {
  it('counts an out-of-order event within the allowed lateness, counts one behind the watermark as late, and drops or processes it as configured', async () => {
    const topic = uniqueTopic('alerts-late-in');
    const dropOut = uniqueTopic('alerts-late-drop');
    const processOut = uniqueTopic('alerts-late-process');
    await createTopic(shared.p, topic, 1);
    await Promise.all([createTopic(shared.p, dropOut, 1), createTopic(shared.p, processOut, 1)]);
    await produce(shared.p, topic, [20_000, 26_000, 25_000, 15_500].map((ms) => encoded(shared.p, '2.0.0', { node_id: 'x', timestamp: formatTimestamp((T0 + ms) * 1000) }).input));

    const drop = await run(topic, 'drop', dropOut);
    expect(drop.firing).toEqual(['three 25000 3']);
    expect(drop.late).toEqual([expect.objectContaining({ labels: { processor: 'alerts', policy: 'drop' }, value: 1 })]);
    expect(drop.stats.late).toBe(1);

    const processed = await run(topic, 'process', processOut);
    // The late event at 15.5 s goes into the 20 s window: four events in (6 s, 26 s], firing at the late event's turn.
    expect(processed.firing).toEqual(['three 25000 3', 'four 15500 4']);
    expect(processed.late).toEqual([expect.objectContaining({ labels: { processor: 'alerts', policy: 'process' }, value: 1 })]);

    // And the ALERT events on the topics say the same.
    const types = async (t: string, n: number) => (await readTopic(shared.p, t, n)).map((r) => String(r.headers['onex-alert-state']));
    expect(await types(dropOut, 1)).toEqual(['firing']);
    expect(await types(processOut, 2)).toEqual(['firing', 'firing']);
  }, 60_000);
});
