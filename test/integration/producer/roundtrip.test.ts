import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, nowTimestamp, SCHEMA_VERSIONS, type OnexEventType } from '../../../src/event/index.js';
import { createKafka } from '../../../src/kafka/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { SyntheticEvents } from '../../../src/dev/index.js';
import { kafkaBrokers } from '../../support/kafka.js';
import { consumeAll, decoderFor, newTopic, useTestRegistry } from './helpers.js';

/** Drops undefined fields, as the wire does: what the decoded event must contain. */
function defined(event: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
}

describe('OnexProducer on a real broker and registry: every event type of every version round-trips', () => {
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'producer-roundtrip' });
  const registryUrl = useTestRegistry();

  for (const version of SCHEMA_VERSIONS) {
    it(`writes schema ${version}: each of its ${EVENT_TYPES[version].length} event types decodes to what was emitted, with key and headers`, async () => {
      const topic = await newTopic(kafka, `producer-rt-${version}`, 3);
      const producer = new OnexProducer({ kafka, registry: registryUrl(), topic, schemaVersion: version, metricsRegistry: new Registry() });
      await producer.start();
      const sent = new Map<string, Record<string, unknown>>();
      for (const type of EVENT_TYPES[version] as readonly OnexEventType[]) {
        const g = new SyntheticEvents({ versions: [version], eventTypes: [type], failureRate: 0.5, seed: type.length });
        for (let i = 0; i < 3; i++) {
          // Two of three carry their own id and timestamp (compared exactly); the third lets the producer fill them.
          const own = i < 2 ? { event_id: randomUUID(), timestamp: nowTimestamp() } : {};
          const event = { ...g.next().event, ...own };
          const r = await producer.emit(event);
          expect(r.status).toBe('sent');
          sent.set(r.eventId, { ...event, event_id: r.eventId });
        }
      }
      await producer.close();

      const records = await consumeAll(kafka, topic);
      expect(records).toHaveLength(sent.size);
      const decode = decoderFor(registryUrl());
      const seenTypes = new Set<string>();
      for (const rec of records) {
        const { event, writerVersion } = await decode(rec.value, version);
        expect(writerVersion).toBe(version);
        const original = sent.get(String(event.event_id));
        expect(original, `unexpected event ${String(event.event_id)}`).toBeDefined();
        const expected = defined(original!);
        if (expected.timestamp === undefined) delete expected.timestamp; // filled by the producer
        if (version !== '1.0.0') expected.schema_version = version;
        expect(event).toMatchObject(expected);
        expect(typeof event.timestamp).toBe('string');
        expect(rec.key).toBe(original!.correlation_id);
        expect(rec.headers['onex-event-type']).toBe(original!.event_type);
        expect(rec.headers['onex-schema-version']).toBe(version);
        if (version === '1.0.0') expect(rec.headers.traceparent).toBeUndefined();
        else expect(rec.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
        seenTypes.add(String(event.event_type));
      }
      expect([...seenTypes].sort()).toEqual([...EVENT_TYPES[version]].sort());
    });
  }
});
