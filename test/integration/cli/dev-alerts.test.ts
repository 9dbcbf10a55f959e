import { describe, expect, it } from 'vitest';
import { createKafka } from '../../../src/kafka/index.js';
import { runOnex } from '../../support/cli.js';
import { consumeMessages, kafkaBrokers } from '../../support/kafka.js';

describe('onex dev alerts', () => {
  const brokers = kafkaBrokers().join(',');
  const env = { ...process.env, KAFKA_BROKERS: brokers };

  it('runs the shipped rules on the demo topic: a failure-rate and a deprecated-schema alert fire, shown live and on the alerts topic', async () => {
    const run = await runOnex(['dev', '--duration', '12', '--rate', '400', '--registry-port', '0', '--metrics-port', '0', '--poison-every', '0'], { env, timeoutMs: 120_000 });
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(run.stderr).toMatch(/^alerts: 3 rules from \S+alerts\/dev-rules\.yaml on onex\.dev\.\d+, ALERT events to onex\.dev\.\d+\.alerts$/m);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
    expect(summary.balanced).toBe(true);
    const alerts = summary.alerts as { rules: number; topic: string; transitions: Record<string, Record<string, number>>; firing: Array<{ rule: string; key: Record<string, string> }> };
    expect(alerts.rules).toBe(3);
    expect(alerts.transitions['operation-error-rate']?.firing, JSON.stringify(alerts.transitions)).toBeGreaterThanOrEqual(1);
    expect(alerts.transitions['deprecated-schema']?.firing, JSON.stringify(alerts.transitions)).toBeGreaterThanOrEqual(1);
    // The load ran 12 s: no node was silent for 60 s.
    expect(alerts.transitions['node-silent']).toBeUndefined();
    expect(alerts.firing.some((f) => f.rule === 'deprecated-schema' && /_node-\d{3}$/.test(f.key.node_id ?? ''))).toBe(true);
    // The plain live line counts the firing alerts; the closing line lists them.
    expect(run.stderr).toMatch(/ alerts_firing=[1-9]\d*$/m);
    expect(run.stderr).toMatch(/^alerts \(onex\.dev\.\d+\.alerts\): firing \d+: /m);

    // Each firing and resolved transition is one ALERT event on the run's alerts topic (pending ones are not events).
    const expected = Object.values(alerts.transitions).reduce((n, t) => n + (t.firing ?? 0) + (t.resolved ?? 0), 0);
    // Read committed, and a second past the expected count, so a record too many would show.
    const records = (await consumeMessages(createKafka({ brokers, clientId: 'dev-alerts-test' }), alerts.topic, expected, 30_000, { settleMs: 1_000 })).map((m) => ({
      id: String(m.headers?.['onex-alert-id']),
      state: String(m.headers?.['onex-alert-state']),
    }));
    expect(records).toHaveLength(expected);
    expect(new Set(records.map((r) => `${r.id}/${r.state}`)).size).toBe(expected);
    expect(records.filter((r) => r.state === 'firing')).toHaveLength(Object.values(alerts.transitions).reduce((n, t) => n + (t.firing ?? 0), 0));
  });

  it('--no-alerts, or the flag onex.alerts.enabled off, runs no rules', async () => {
    for (const [args, extra] of [[['--no-alerts'], {}], [[], { ONEX_FLAG_ALERTS_ENABLED: 'false' }]] as const) {
      const run = await runOnex(['dev', '--duration', '2', '--rate', '100', '--registry-port', '0', '--metrics-port', '0', '--poison-every', '0', ...args], { env: { ...env, ...extra }, timeoutMs: 60_000 });
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
      expect(summary.alerts).toBeNull();
      expect(run.stderr).not.toMatch(/^alerts: /m);
    }
  });
});
