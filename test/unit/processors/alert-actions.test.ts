import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../../src/event/index.js';
import { alertEvent, alertmanagerAlert, postAlert, type AlertTransition } from '../../../src/processors/alerting/index.js';

const t: AlertTransition = {
  rule: 'burst', kind: 'threshold', key: { node_id: 'n1' }, state: 'firing', at: Date.UTC(2026, 0, 1, 0, 1), alertId: 'a'.repeat(32), partition: 0, fingerprint: 'f'.repeat(32),
  activeAt: Date.UTC(2026, 0, 1, 0, 0, 30), count: 5, value: 5, labels: { severity: 'page' }, annotations: { summary: 'n1 failed 5 times' }, correlationIds: ['c1'],
};

describe('alert actions', () => {
  it('a firing transition is a valid ALERT_TRIGGERED event, a resolved one ALERT_RESOLVED with the same correlation id', () => {
    const fired = alertEvent(t)!;
    const resolved = alertEvent({ ...t, state: 'resolved' })!;
    expect(validateEvent(fired).valid).toBe(true);
    expect([fired.event_type, resolved.event_type]).toEqual(['ALERT_TRIGGERED', 'ALERT_RESOLVED']);
    expect(fired.correlation_id).toBe(resolved.correlation_id);
    expect(fired.event_id).not.toBe(resolved.event_id);
    expect(alertEvent({ ...t, state: 'pending' })).toBeUndefined();
  });

  it('posts the Alertmanager v2 body and retries a 503 with backoff', async () => {
    const calls: string[] = [];
    let n = 0;
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      calls.push(String(init.body));
      return new Response(null, { status: n++ === 0 ? 503 : 200 });
    }) as typeof fetch;
    await postAlert({ ...t, state: 'resolved' }, { url: 'http://127.0.0.1:1/api/v2/alerts', fetchImpl, backoff: { initialMs: 1, multiplier: 1, maxMs: 1, jitter: 0 } });
    expect(calls.length).toBe(2);
    expect(JSON.parse(calls[0]!)).toEqual([{
      labels: { alertname: 'burst', node_id: 'n1', severity: 'page' }, annotations: { summary: 'n1 failed 5 times' },
      startsAt: '2026-01-01T00:00:30.000Z', endsAt: '2026-01-01T00:01:00.000Z',
    }]);
    expect(alertmanagerAlert(t)).not.toHaveProperty('endsAt');
    const refuse = (async () => new Response(null, { status: 500 })) as typeof fetch;
    await expect(postAlert(t, { url: 'http://x', fetchImpl: refuse, attempts: 2, backoff: { initialMs: 1, multiplier: 1, maxMs: 1, jitter: 0 } })).rejects.toMatchObject({ code: 'ONEX_EVENT_620' });
  });
});
