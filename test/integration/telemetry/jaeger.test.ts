import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnex } from '../../support/cli.js';
import { startJaeger, type JaegerInstance } from '../../support/jaeger.js';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka.js';

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
  afterAll(async () => jaeger?.stop());

  it('onex dev --otlp-endpoint: one trace runs from the producer\'s send through Kafka to the worker\'s handler; profiles join the slowest trace', async () => {
    const profiles = uniqueTopic('dev-profiles');
    const run = await runOnex(
      ['dev', '--otlp-endpoint', jaeger.otlpEndpoint, '--duration', '3', '--rate', '100', '--registry-port', '0', '--metrics-port', '0', '--poison-every', '0', '--profile-topic', profiles, '--profile-window', '1000'],
      { env: { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(',') }, timeoutMs: 120_000 },
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(run.stderr).toContain(`tracing to ${jaeger.otlpEndpoint}/v1/traces`);

    // main() flushed the SDK before exit and Jaeger's batch processor writes within 200 ms; poll briefly anyway.
    let traces: JaegerTrace[] = [];
    for (let i = 0; i < 25 && traces.length === 0; i++) {
      const answer = await jaeger.query<{ data: JaegerTrace[] | null }>('/api/traces?service=onex-dev&limit=200&lookback=1h');
      traces = answer.data ?? [];
      if (traces.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(traces.length, jaeger.log().slice(-2000)).toBeGreaterThan(0);

    const whole = traces.find((t) => {
      const send = t.spans.find((s) => s.operationName.startsWith('send onex.dev.'));
      return send && t.spans.some((s) => s.operationName.startsWith('process onex.dev.') && s.references.some((r) => r.refType === 'CHILD_OF' && r.spanID === send.spanID));
    });
    expect(whole, `no trace holds a send span and a process span that is its child; operations seen: ${[...new Set(traces.flatMap((t) => t.spans.map((s) => s.operationName)))].join(', ')}`).toBeDefined();
    const send = whole!.spans.find((s) => s.operationName.startsWith('send '))!;
    const processSpan = whole!.spans.find((s) => s.operationName.startsWith('process '))!;
    expect(whole!.processes[send.processID]!.serviceName).toBe('onex-dev');
    expect(tag(send, 'span.kind')).toBe('producer');
    expect(tag(processSpan, 'span.kind')).toBe('consumer');
    expect(tag(processSpan, 'messaging.system')).toBe('kafka');
    expect(tag(processSpan, 'messaging.destination.name')).toBe(send.operationName.slice('send '.length));
    expect(tag(processSpan, 'onex.schema_version.target')).toBe('2.0.0');
    expect(typeof tag(processSpan, 'onex.event_type')).toBe('string');
    // The handler ran inside the consumer span (a span event per attempt) and the record was handled.
    expect(logNames(processSpan)).toContain('handler');
    expect(tag(processSpan, 'onex.outcome')).toBe('handled');

    // The profiler's PERFORMANCE_PROFILE events were emitted inside the slowest handler call's trace: some trace holds
    // a worker's process span and the send span of a profile.
    const profileTraces = (await jaeger.query<{ data: JaegerTrace[] | null }>(`/api/traces?service=onex-dev&operation=${encodeURIComponent(`send ${profiles}`)}&limit=50&lookback=1h`)).data ?? [];
    const withProfile = profileTraces.find((t) => t.spans.some((s) => s.operationName === `send ${profiles}`) && t.spans.some((s) => s.operationName.startsWith('process onex.dev.')));
    expect(withProfile, 'no trace holds both a handled record and a profile emitted from it').toBeDefined();
  });
});
