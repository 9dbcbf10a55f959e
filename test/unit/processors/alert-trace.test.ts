import { context, ROOT_CONTEXT, trace, type SpanContext } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyOnexEvent } from '../../../src/event/index.js';
import { runLocally, type OutputRecord, type ProcessorDefinition } from '../../../src/processors/index.js';
import { alertRecords, createAlertEngine, loadRules, type AlertTransition } from '../../../src/processors/alerting/index.js';

/**
 * The ALERT event continues the trace of its cause: the processing span of the latest event that fed the alert, also
 * when a timer (the rule's `for`) makes the transition after that event's span is gone. The processor runs each
 * record inside its CONSUMER span (src/processors/task.ts); here each event runs inside a span context of its own.
 */

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');
const ev = (s: number) => ({ event_type: 'NODE_FAILURE', timestamp: iso(T0 + s * 1000), node_id: 'n1', correlation_id: `c${s}` }) as unknown as AnyOnexEvent;
const spanOf = (i: number): SpanContext => ({ traceId: `${String(i).padStart(2, '0')}${'a'.repeat(30)}`, spanId: `${String(i).padStart(2, '0')}${'b'.repeat(14)}`, traceFlags: 1, isRemote: true });

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
beforeAll(() => void provider.register());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

function collect(records: OutputRecord[], into: OutputRecord[]): OutputRecord[] {
  into.push(...records);
  return records;
}

function runTraced(yaml: string, events: AnyOnexEvent[], untilS: number) {
  const seen: AlertTransition[] = [];
  const out: OutputRecord[] = [];
  const toRecords = alertRecords((e) => JSON.stringify(e), 'alerts.out');
  const engine = createAlertEngine(loadRules(yaml).rules, { output: (t) => collect(toRecords(t), out), onTransition: (t) => seen.push(t) });
  const def: ProcessorDefinition = {
    ...engine,
    process: (event, ctx) => context.with(trace.setSpanContext(ROOT_CONTEXT, spanOf(events.indexOf(event))), () => engine.process(event, ctx)),
  };
  runLocally(def, events, { until: T0 + untilS * 1000 });
  return { seen, out };
}

describe('ALERT events continue the trace of their cause', () => {
  it('a firing made by the for timer names the span of the last event that fed it; the record carries a child of it', () => {
    exporter.reset();
    const rule = "rules:\n  - name: burst\n    kind: threshold\n    match: 'true'\n    by: [node_id]\n    window: 60s\n    count: 2\n    for: 5s\n";
    const { seen, out } = runTraced(rule, [ev(1), ev(2), ev(3)], 30);
    const firing = seen.find((t) => t.state === 'firing')!;
    expect(firing.at).toBe(T0 + 7_000);
    // Event 3 (index 2) fed the alert last before the timer fired at 7 s.
    const cause = spanOf(2);
    expect(firing.traceparent).toBe(`00-${cause.traceId}-${cause.spanId}-01`);
    const record = out.find((r) => r.headers?.['onex-alert-state'] === 'firing')!;
    const event = JSON.parse(String(record.value)) as { trace: { trace_id: string; span_id: string; trace_flags: number } };
    const send = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === event.trace.span_id)!;
    expect(send.name).toBe('send alerts.out');
    expect(send.parentSpanContext?.spanId).toBe(cause.spanId);
    expect(event.trace.trace_id).toBe(cause.traceId);
    expect(record.headers?.traceparent).toBe(`00-${cause.traceId}-${event.trace.span_id}-01`);
    expect(send.attributes['onex.alert.rule']).toBe('burst');
    expect(send.attributes['onex.alert.state']).toBe('firing');
  });

  it('without a traced cause the ALERT has no trace fields and no traceparent', () => {
    const rule = "rules:\n  - name: burst\n    kind: threshold\n    match: 'true'\n    by: [node_id]\n    window: 60s\n    count: 2\n";
    const toRecords = alertRecords((e) => JSON.stringify(e), 'alerts.out');
    const out: OutputRecord[] = [];
    runLocally(createAlertEngine(loadRules(rule).rules, { output: (t) => collect(toRecords(t), out) }), [ev(1), ev(2)], {});
    expect(out).toHaveLength(1);
    expect(out[0]!.headers?.traceparent).toBeUndefined();
    expect((JSON.parse(String(out[0]!.value)) as { trace?: unknown }).trace).toBeUndefined();
  });
});
