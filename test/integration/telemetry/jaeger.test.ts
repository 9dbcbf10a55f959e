import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTimestamp } from '../../../src/event/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { startOtlpTracing } from '../../../src/telemetry/otlp.js';
import { REPO_ROOT, runOnex } from '../../support/cli.js';
import { startJaeger, type JaegerInstance } from '../../support/jaeger.js';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { committedTotal, createTopic, eventOf, readTopic, startPipeline, waitFor, type Pipeline } from '../worker/pipeline.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

/** The parts of Jaeger's /api/traces answer (its v1 JSON model) the test reads. */
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
  logs: { fields: { key: string; value: unknown }[] }[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
const logNames = (s: JaegerSpan) => s.logs.map((l) => l.fields.find((f) => f.key === 'event')?.value);

describe('traces end to end in a real trace backend (Jaeger v2)', () => {
  let jaeger: JaegerInstance;
  // A cold build of the binary takes minutes; a warm cache makes this a start of about a second.
  beforeAll(async () => {
    jaeger = await startJaeger({ say: (line) => process.stderr.write(`[jaeger] ${line}\n`) });
  }, 900_000);
  let p: Pipeline | undefined;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await p?.close();
    await jaeger?.stop();
  });

  /** `onex ARGS` from source as a long-running child; its stderr is kept for the failure messages. */
  function startOnex(args: string[], env: Record<string, string> = {}): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ONEX_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stdout!.resume();
    child.stderr!.on('data', (d) => (stderr += d));
    return { child, stderr: () => stderr, exit: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
  }

  it('onex dev --otlp-endpoint: one trace runs from the producer\'s send through Kafka to the worker\'s handler; profiles join the slowest trace, an ALERT joins its cause\'s trace', async () => {
    const profiles = uniqueTopic('dev-profiles');
    const run = await runOnex(
      ['dev', '--otlp-endpoint', jaeger.otlpEndpoint, '--duration', '3', '--rate', '100', '--registry-port', '0', '--metrics-port', '0', '--poison-every', '0', '--profile-topic', profiles, '--profile-window', '1000'],
      { env: { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(',') }, timeoutMs: 120_000 },
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(run.stderr).toContain(`tracing to ${jaeger.otlpEndpoint}/v1/traces`);

    // main() flushed the SDK before exit, but Jaeger's own batch processor writes what it received within 200 ms, so
    // the spans exported last (the final profile window, a late ALERT) may not be queryable yet when the first query
    // lands. Each finding below is therefore polled for until it holds (or 20 s pass), never judged on one answer.
    const childOf = (c: JaegerSpan, parent: JaegerSpan) => c.references.some((r) => r.refType === 'CHILD_OF' && r.spanID === parent.spanID);
    const tracesOf = async (operation?: string) =>
      (await jaeger.query<{ data: JaegerTrace[] | null }>(`/api/traces?service=onex-dev${operation ? `&operation=${encodeURIComponent(operation)}` : ''}&limit=1000&lookback=1h`)).data ?? [];
    const isWorkerSpan = (s: JaegerSpan, topic: string) => s.operationName === `process ${topic}` && tag(s, 'messaging.consumer.group.name') === `${topic}.worker`;

    // Pick the pair by what it is, not by order: a trace of onex dev also holds a profile's `send <profiles>` span, an
    // ALERT's send and the alert and correlation processors' own process spans. The pair is the send of a dev event
    // (`send onex.dev.<run>`) and the worker's (group `<topic>.worker`) process span whose parent it is.
    let traces: JaegerTrace[] = [];
    let pairs: { trace: JaegerTrace; send: JaegerSpan; processSpan: JaegerSpan; topic: string }[] = [];
    await waitFor('a dev event\'s send and its worker span in Jaeger', async () => {
      traces = await tracesOf();
      pairs = traces.flatMap((t) =>
        t.spans
          .filter((s) => s.operationName.startsWith('send onex.dev.') && !s.operationName.endsWith('.alerts'))
          .flatMap((s) => {
            const topic = s.operationName.slice('send '.length);
            return t.spans.filter((c) => isWorkerSpan(c, topic) && childOf(c, s)).map((c) => ({ trace: t, send: s, processSpan: c, topic }));
          }),
      );
      return pairs.length > 0;
    }, 20_000, 250).catch(() => undefined);
    expect(traces.length, jaeger.log().slice(-2000)).toBeGreaterThan(0);
    expect(pairs.length, `no trace holds a dev event's send span and the worker's process span that is its child; operations seen: ${[...new Set(traces.flatMap((t) => t.spans.map((s) => s.operationName)))].join(', ')}`).toBeGreaterThan(0);
    const { trace: whole, send, processSpan, topic } = pairs[0]!;
    expect(whole.processes[send.processID]!.serviceName).toBe('onex-dev');
    expect(whole.processes[processSpan.processID]!.serviceName).toBe('onex-dev');
    expect(tag(send, 'span.kind')).toBe('producer');
    expect(tag(processSpan, 'span.kind')).toBe('consumer');
    expect(tag(processSpan, 'messaging.system')).toBe('kafka');
    expect(tag(processSpan, 'messaging.destination.name')).toBe(topic);
    expect(tag(send, 'messaging.destination.name')).toBe(topic);
    expect(tag(processSpan, 'onex.schema_version.target')).toBe('2.0.0');
    expect(typeof tag(processSpan, 'onex.event_type')).toBe('string');
    // The handler ran inside the consumer span (a span event per attempt) and the record was handled.
    expect(logNames(processSpan)).toContain('handler');
    expect(tag(processSpan, 'onex.outcome')).toBe('handled');

    // The profiler's PERFORMANCE_PROFILE events were emitted inside the slowest handler call's trace: some trace holds
    // a profile's send span whose parent is the worker's process span of that record. (The alert and correlation
    // processors in the same process profile their work under their own names, so the `handle ...` exemplar is a
    // worker span.)
    let parents: string[] = [];
    const profiled = await waitFor('a profile whose send is the child of a worker span', async () => {
      const profileTraces = await tracesOf(`send ${profiles}`);
      parents = profileTraces.flatMap((t) => t.spans.filter((s) => s.operationName === `send ${profiles}`).map((s) => {
        const parent = t.spans.find((x) => childOf(s, x));
        return parent ? `${parent.operationName} (${String(tag(parent, 'messaging.consumer.group.name') ?? '')})` : 'none';
      }));
      return profileTraces.some((t) => t.spans.some((s) => s.operationName === `send ${profiles}` && t.spans.some((w) => isWorkerSpan(w, topic) && childOf(s, w))));
    }, 20_000, 250).then(() => true, () => false);
    expect(profiled, `no trace holds a profile whose send span is the child of a worker's process span; parents of profile sends: ${parents.join(', ')}`).toBe(true);

    // onex dev runs its default alert rules (deprecated-schema fires within seconds on the demo load): some trace runs
    // from a dev event's send to the worker's process span (the handler) and, from the same send, to the alert
    // processor's process span and the ALERT's send under it.
    const alertsTopic = `${topic}.alerts`;
    let withAlertSend = 0;
    const alerted = await waitFor('a trace from a dev event to both its handler and an ALERT', async () => {
      const alertTraces = await tracesOf(`send ${alertsTopic}`);
      withAlertSend = alertTraces.length;
      return alertTraces.some((t) =>
        t.spans.some((raised) => raised.operationName === `send ${alertsTopic}` && t.spans.some((byAlerts) =>
          byAlerts.operationName === `process ${topic}` && tag(byAlerts, 'messaging.consumer.group.name') === `${topic}.alerts` && childOf(raised, byAlerts) &&
          t.spans.some((sent) => sent.operationName === `send ${topic}` && childOf(byAlerts, sent) && t.spans.some((byWorker) =>
            isWorkerSpan(byWorker, topic) && childOf(byWorker, sent) && logNames(byWorker).includes('handler'))))),
      );
    }, 20_000, 250).then(() => true, () => false);
    expect(alerted, `no trace runs from a dev event's send to both the worker's handler and an ALERT; ${withAlertSend} traces hold a send ${alertsTopic} span`).toBe(true);
  });

  it('onex worker --otlp-endpoint and onex alerts run with OTEL_EXPORTER_OTLP_ENDPOINT: one trace holds the producer\'s sends, the worker\'s process spans, the alert processor\'s and the ALERT it raised', async () => {
    p = await startPipeline();
    const input = uniqueTopic('e2e-alert-in');
    const alertsTopic = uniqueTopic('e2e-alert-out');
    await createTopic(p, input, 1);
    await createTopic(p, alertsTopic, 1);
    const dir = mkdtempSync(join(tmpdir(), 'onex-e2e-alert-'));
    writeFileSync(join(dir, 'rules.yaml'), ['rules:', '  - name: burst', '    kind: threshold', `    match: 'event.event_type == "NODE_FAILURE"'`, '    by: [node_id]', '    window: 1m', '    count: 2', ''].join('\n'));
    writeFileSync(join(dir, 'handlers.mjs'), 'export const handlers = { "*": () => undefined };\n');
    const connection = ['-b', p.brokers, '--registry', p.registry.url];
    const workerGroup = `e2e-worker-${Date.now()}`;
    const alertsGroup = `e2e-alerts-${Date.now()}`;

    // The emitting service: this process, with the SDK exporting to the same Jaeger. Two failures of one node inside
    // one application span, so both sends (and all that follows from them) belong to one trace; the second fires
    // the rule.
    const tracing = (await startOtlpTracing({ endpoint: jaeger.otlpEndpoint, serviceName: 'onex-e2e-app', env: {}, metricsRegistry: new Registry() }))!;
    const producer = new OnexProducer({ kafka: p.kafka, topic: input, codec: p.codec, schemaVersion: '2.0.0', metricsRegistry: new Registry(), sampling: { enabled: false }, batch: { lingerMs: 1 } });
    let traceId = '';
    try {
      await trace.getTracer('e2e').startActiveSpan('raise two failures', async (span) => {
        traceId = span.spanContext().traceId;
        const correlation = randomUUID();
        for (let i = 0; i < 2; i++) {
          await producer.emit(eventOf('2.0.0', { event_type: 'NODE_FAILURE', node_id: 'e2e-node', correlation_id: correlation, timestamp: formatTimestamp(Date.now() * 1000), metadata: { input_state: { i }, error: 'boom' } }));
        }
        span.end();
      });
    } finally {
      await producer.close();
      await tracing.shutdown();
    }

    const worker = startOnex(['worker', '--otlp-endpoint', jaeger.otlpEndpoint, '--topic', input, '--group', workerGroup, '--handlers', join(dir, 'handlers.mjs'), '--from-beginning', ...connection]);
    // The worker is pointed at Jaeger by the flag, the alert processor by the standard variables alone (the endpoint as
    // a base URL, the service name), so both ways reach the same backend.
    const alerts = startOnex(['alerts', 'run', '--rules', join(dir, 'rules.yaml'), '--topic', input, '--group', alertsGroup, '--alerts-topic', alertsTopic, '--from-beginning', '--tick', 'off', ...connection], {
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
      OTEL_SERVICE_NAME: 'onex-alerts-from-env',
    });
    const [alertRecord] = await readTopic(p, alertsTopic, 1, 90_000).catch((e: Error) => {
      throw new Error(`${e.message}; alerts stderr: ${alerts.stderr().slice(-1500)}`);
    });
    const alert = (await p.codec.decode<{ event_type: string; trace: { trace_id: string; span_id: string } }>(alertRecord!.value!, '2.0.0')).event;
    expect(alert.event_type).toBe('ALERT_TRIGGERED');
    expect(alerts.stderr()).toContain(`tracing to ${jaeger.otlpEndpoint}/v1/traces`);
    expect(alert.trace, 'the ALERT event carries no trace record').toBeTruthy();
    // The ALERT names the trace of its cause, in its own fields and in its traceparent header.
    expect(alert.trace.trace_id).toBe(traceId);
    const traceparent = String(alertRecord!.headers.traceparent);
    expect(traceparent).toBe(`00-${traceId}-${alert.trace.span_id}-01`);

    // The ALERT only shows the alert processor is done; the worker reads the same topic at its own pace. Stop it only
    // once it has committed both records, or its second process span is never made.
    await waitFor('the worker to commit both records', async () => (await committedTotal(p!, workerGroup, input)) === 2, 60_000, 200).catch((e: Error) => {
      throw new Error(`${e.message}; worker stderr: ${worker.stderr().slice(-1500)}`);
    });
    // SIGTERM: both stop cleanly and flush their last spans.
    worker.child.kill('SIGTERM');
    alerts.child.kill('SIGTERM');
    expect(await worker.exit, worker.stderr().slice(-1500)).toBe(0);
    expect(await alerts.exit, alerts.stderr().slice(-1500)).toBe(0);

    const service = (t: JaegerTrace, s: JaegerSpan) => t.processes[s.processID]!.serviceName;
    const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    let whole: JaegerTrace | undefined;
    const complete = (t: JaegerTrace) => t.spans.some((s) => s.operationName === `send ${alertsTopic}`) && t.spans.filter((s) => s.operationName === `process ${input}`).length === 4;
    await waitFor('the whole trace in Jaeger', async () => {
      whole = (await jaeger.query<{ data: JaegerTrace[] | null }>(`/api/traces/${traceId}`)).data?.[0];
      return whole !== undefined && complete(whole);
    }, 20_000, 250).catch(() => {
      throw new Error(`the trace ${traceId} is incomplete in Jaeger; spans: ${(whole?.spans ?? []).map((s) => `${s.operationName} (${service(whole!, s)})`).join(', ')}`);
    });
    const t = whole!;
    const app = t.spans.find((s) => s.operationName === 'raise two failures')!;
    const sends = t.spans.filter((s) => s.operationName === `send ${input}`);
    expect(sends).toHaveLength(2);
    for (const s of sends) {
      expect(service(t, s)).toBe('onex-e2e-app');
      expect(parentOf(s)).toBe(app.spanID);
    }
    const processed = t.spans.filter((s) => s.operationName === `process ${input}`);
    const byWorker = processed.filter((s) => service(t, s) === 'onex-worker');
    const byAlerts = processed.filter((s) => service(t, s) === 'onex-alerts-from-env');
    expect(byWorker).toHaveLength(2);
    expect(byAlerts).toHaveLength(2);
    for (const s of processed) {
      expect(sends.map((x) => x.spanID)).toContain(parentOf(s));
      expect(tag(s, 'span.kind')).toBe('consumer');
      expect(tag(s, 'onex.outcome')).toBe('handled');
      expect(logNames(s)).toContain('handler');
    }
    for (const s of byWorker) expect(tag(s, 'messaging.consumer.group.name')).toBe(workerGroup);
    for (const s of byAlerts) expect(tag(s, 'messaging.consumer.group.name')).toBe(alertsGroup);

    // The ALERT's send span: a child of the alert processor's span for the second failure (the one that fired).
    const raised = t.spans.find((s) => s.operationName === `send ${alertsTopic}`)!;
    expect(service(t, raised)).toBe('onex-alerts-from-env');
    expect(raised.spanID).toBe(alert.trace.span_id);
    expect(tag(raised, 'span.kind')).toBe('producer');
    expect(tag(raised, 'onex.event_type')).toBe('ALERT_TRIGGERED');
    expect(tag(raised, 'onex.alert.rule')).toBe('burst');
    expect(tag(raised, 'onex.alert.state')).toBe('firing');
    const cause = byAlerts.find((s) => s.spanID === parentOf(raised));
    expect(cause, 'the ALERT send span is not a child of an alert processor span').toBeDefined();
    expect(Number(tag(cause!, 'messaging.kafka.offset'))).toBe(1);
  }, 180_000);
});
