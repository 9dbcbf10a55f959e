import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createKafka } from '../../../src/kafka/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { SyntheticEvents } from '../../../src/dev/index.js';
import { kafkaBrokers } from '../../support/kafka.js';
import { consumeAll, decoderFor, newTopic, useTestRegistry } from './helpers.js';

const FAILURE_TYPES = new Set(['NODE_FAILURE', 'TELEMETRY_OPERATION_ERROR', 'NODE_ANNOUNCE_REJECTED', 'ALERT_TRIGGERED']);
/** A failure type, or an error code on the envelope or in the metadata: never sampled out. */
const isError = (e: Record<string, unknown>) =>
  FAILURE_TYPES.has(String(e.event_type)) || typeof e.error_code === 'string' || typeof (e.metadata as { error_code?: unknown } | null)?.error_code === 'string';

describe('sampling on a real broker keeps whole flows and never drops errors', () => {
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'producer-sampling' });
  const registryUrl = useTestRegistry();

  it('12,000 flows through two producer instances at rate 0.2: whole flows kept at the rate, errors always', async () => {
    const topic = await newTopic(kafka, 'producer-sampling', 3);
    const rate = 0.2;
    // Two instances, as two replicas of a service: each flow's events alternate between them, so a flow is only kept
    // whole if both decide the same way.
    const producers = [0, 1].map(
      () => new OnexProducer({ kafka, registry: registryUrl(), topic, sampling: { defaultRate: rate }, metricsRegistry: new Registry() }),
    );
    const g = new SyntheticEvents({ versions: ['1.3.0'], failureRate: 0.1, seed: 42 });
    const flows = 12_000;
    const emitted = new Map<string, { total: number; errors: number; sampledOut: number }>();
    let turn = 0;
    let pending: Promise<unknown>[] = [];
    for (let f = 0; f < flows; f++) {
      for (const { event, flowId } of g.flow()) {
        const facts = emitted.get(flowId) ?? { total: 0, errors: 0, sampledOut: 0 };
        emitted.set(flowId, facts);
        facts.total++;
        if (isError(event)) facts.errors++;
        pending.push(
          producers[turn++ % 2]!.emit(event).then((r) => {
            if (r.status === 'sampled_out') facts.sampledOut++;
          }),
        );
      }
      if (pending.length > 5_000) {
        await Promise.all(pending);
        pending = [];
      }
    }
    await Promise.all(pending);
    await Promise.all(producers.map((p) => p.close()));

    const decode = decoderFor(registryUrl());
    const records = await consumeAll(kafka, topic);
    const received = new Map<string, { total: number; errors: number; rates: Set<number> }>();
    for (const rec of records) {
      const { event } = await decode(rec.value, '1.3.0');
      const flow = String(event.correlation_id);
      const r = received.get(flow) ?? { total: 0, errors: 0, rates: new Set<number>() };
      received.set(flow, r);
      r.total++;
      if (isError(event)) {
        r.errors++;
        expect(event.sample_rate).toBe(1);
      } else r.rates.add(Number(event.sample_rate));
    }

    let keptWhole = 0;
    let errorsExpected = 0;
    let errorsReceived = 0;
    for (const [flow, sent] of emitted) {
      const got = received.get(flow) ?? { total: 0, errors: 0, rates: new Set<number>() };
      errorsExpected += sent.errors;
      errorsReceived += got.errors;
      const nonErrorSent = sent.total - sent.errors;
      const nonErrorGot = got.total - got.errors;
      // Whole or nothing: never a part of a flow's sampled events.
      expect([0, nonErrorSent], `flow ${flow}`).toContain(nonErrorGot);
      if (nonErrorGot > 0) {
        keptWhole++;
        expect([...got.rates]).toEqual([rate]);
      }
      expect(sent.sampledOut).toBe(nonErrorSent - nonErrorGot);
    }
    expect(errorsReceived).toBe(errorsExpected);
    expect(errorsExpected).toBeGreaterThan(500);
    // Kept fraction within 4 standard deviations of the rate.
    const sd = Math.sqrt((rate * (1 - rate)) / flows);
    expect(Math.abs(keptWhole / flows - rate)).toBeLessThan(4 * sd);
  });
});
