import { createHash } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import { onexError } from '../../errors/index.js';
import { formatTimestamp } from '../../event/index.js';
import { BACKOFFS, backoffDelay, sleep, type Backoff } from '../../retry/index.js';
import { activeTracer, ATTR, parseTraceparent, traceOutputEvent } from '../../telemetry/internal.js';
import type { OutputRecord } from '../types.js';
import type { AlertTransition } from './engine.js';

/**
 * What a transition does outside the engine: an ALERT_TRIGGERED / ALERT_RESOLVED ONEX event (2.0.0) for
 * `onex.alerts`, emitted in the processor's transaction so each transition is written exactly once; an Alertmanager
 * v2 webhook body (POST /api/v2/alerts takes it as it is); the `onex_alerts{rule,state}` gauge.
 */

export const ALERTS_TOPIC = 'onex.alerts';

/** A uuid-shaped id derived from text, so a transition's event id is the same however often it is computed. */
function uuidOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The ONEX event of a transition; only firing and resolved transitions make one (pending is internal). */
export function alertEvent(t: AlertTransition, nodeId = 'onex-alerts'): Record<string, unknown> | undefined {
  if (t.state === 'pending') return undefined;
  return {
    event_id: uuidOf(`${t.alertId}/${t.state}`),
    timestamp: formatTimestamp(t.at * 1000),
    node_id: nodeId,
    event_type: t.state === 'firing' ? 'ALERT_TRIGGERED' : 'ALERT_RESOLVED',
    schema_version: '2.0.0',
    correlation_id: uuidOf(t.alertId),
    metadata: {
      untyped: {
        alert_id: t.alertId, fingerprint: t.fingerprint, rule: t.rule, kind: t.kind, key: t.key, count: t.count, value: t.value,
        active_at: new Date(t.activeAt).toISOString(), labels: t.labels, annotations: t.annotations, correlation_ids: t.correlationIds,
      },
    },
  };
}

/**
 * Records for onex.alerts: the event encoded by `encode` (the codec's Avro, or JSON), keyed by alert id. When the
 * processor traces, the event continues the trace of the event that caused it (src/telemetry/producer-span.ts,
 * traceOutputEvent): its `trace` record and traceparent header name a `send <topic>` span that is a child of the
 * cause's processing span.
 */
export function alertRecords(encode: (event: Record<string, unknown>) => Buffer | string, topic = ALERTS_TOPIC) {
  return (t: AlertTransition): OutputRecord[] => {
    const e = alertEvent(t);
    if (!e) return [];
    const tracer = activeTracer();
    const traced = tracer
      ? traceOutputEvent(tracer, topic, e, t.traceparent ? parseTraceparent(t.traceparent) : undefined, { [ATTR.alertId]: t.alertId, [ATTR.alertRule]: t.rule, [ATTR.alertState]: t.state })
      : undefined;
    return [{ topic, key: t.alertId, value: encode(e), headers: { 'onex-alert-id': t.alertId, 'onex-alert-state': t.state, ...traced } }];
  };
}

/** One alert in Alertmanager's v2 API format (postableAlert): labels include alertname and the key. */
export function alertmanagerAlert(t: AlertTransition, generatorURL?: string): Record<string, unknown> {
  return {
    labels: { alertname: t.rule, ...t.key, ...t.labels },
    annotations: t.annotations,
    startsAt: new Date(t.activeAt).toISOString(),
    ...(t.state === 'resolved' ? { endsAt: new Date(t.at).toISOString() } : {}),
    ...(generatorURL ? { generatorURL } : {}),
  };
}

export interface WebhookOptions {
  url: string;
  /** Attempts per body, the first included (default 5). */
  attempts?: number;
  backoff?: Backoff;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

/**
 * Posts `[alert]` (the Alertmanager v2 body) for a firing or resolved transition, retrying connection failures and
 * 5xx / 429 answers with backoff; the last failure is ONEX_EVENT_620. Alertmanager dedupes by labels, so a body
 * posted again after a restart is harmless.
 */
export async function postAlert(t: AlertTransition, o: WebhookOptions): Promise<void> {
  if (t.state === 'pending') return;
  const body = JSON.stringify([alertmanagerAlert(t)]);
  const attempts = o.attempts ?? 5;
  const f = o.fetchImpl ?? fetch;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await f(o.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(o.timeoutMs ?? 5_000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429) break;
    } catch (e) {
      last = (e as Error).message;
    }
    if (attempt < attempts) await sleep(backoffDelay(o.backoff ?? BACKOFFS.alertWebhook, attempt));
  }
  throw onexError('ONEX_EVENT_620', `alert webhook ${o.url} did not take alert ${t.rule} ${t.state} (${last})`, { details: { rule: t.rule, alertId: t.alertId } });
}

/** onex_alerts{rule,state}: alerts pending and firing now, per rule. */
export class AlertGauge {
  private readonly gauge: Gauge<'rule' | 'state'>;
  private readonly live = new Map<string, AlertTransition['state']>();

  constructor(registry: Registry) {
    const existing = registry.getSingleMetric('onex_alerts') as Gauge<'rule' | 'state'> | undefined;
    this.gauge = existing ?? new Gauge({ name: 'onex_alerts', help: 'Alerts pending or firing now, by rule', labelNames: ['rule', 'state'], registers: [registry] });
  }

  observe(t: AlertTransition): void {
    const id = `${t.fingerprint}`;
    const before = this.live.get(id);
    if (before) this.gauge.dec({ rule: t.rule, state: before });
    if (t.state === 'resolved') this.live.delete(id);
    else {
      this.live.set(id, t.state);
      this.gauge.inc({ rule: t.rule, state: t.state });
    }
  }
}
