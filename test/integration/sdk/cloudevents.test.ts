import { randomUUID } from 'node:crypto';
import { InMemoryProvider } from '@openfeature/server-sdk';
import { CloudEvent, Kafka as CloudEventsKafka } from 'cloudevents';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { OnexEventCodec, registryFromUrl } from '../../../src/codec/index.js';
import { SyntheticEvents } from '../../../src/dev/index.js';
import { nowTimestamp } from '../../../src/event/index.js';
import { FlagSet } from '../../../src/flags/index.js';
import { createKafka } from '../../../src/kafka/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { DLQ_HEADERS, createWorker } from '../../../src/worker/index.js';
import { consumeMessages, kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { newTopic, useTestRegistry } from '../producer/helpers.js';

/** kafkajs hands headers over as Buffers; the CloudEvents Kafka binding reads strings. */
function asBindingMessage(m: KafkaMessage): { key: string; value: Buffer; body: Buffer; headers: Record<string, string>; timestamp: string } {
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[name] = String(Array.isArray(v) ? v[0] : v);
  return { key: m.key?.toString() ?? '', value: m.value!, body: m.value!, headers, timestamp: m.timestamp };
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  return v === undefined ? undefined : String(Array.isArray(v) ? v[0] : v);
}

/** A 1.3.0 ONEX event as JSON: what a service that is not ours puts into a CloudEvent's data. */
function jsonEvent(events: SyntheticEvents): Record<string, unknown> {
  const e = { event_id: randomUUID(), timestamp: nowTimestamp(), ...events.next().event };
  return JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
}

describe('CloudEvents interoperability (Kafka protocol binding)', () => {
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'sdk-cloudevents' });
  const registryUrl = useTestRegistry();

  it('the cloudevents SDK reads the records OnexProducer writes (binary mode) as valid CloudEvents with the ONEX attributes', async () => {
    const topic = await newTopic(kafka, 'sdk-ce-binary', 1);
    const producer = new OnexProducer({ kafka, registry: registryUrl(), topic, schemaVersion: '2.0.0', metricsRegistry: new Registry() });
    const events = new SyntheticEvents({ versions: ['2.0.0'], seed: 12 });
    const ids: string[] = [];
    try {
      for (let i = 0; i < 3; i++) ids.push((await producer.emit(events.next().event)).eventId);
    } finally {
      await producer.close();
    }
    const codec = new OnexEventCodec({ registry: registryFromUrl(registryUrl()) });
    const records = await consumeMessages(kafka, topic, ids.length, 30_000);
    for (const record of records) {
      const message = asBindingMessage(record);
      expect(CloudEventsKafka.isEvent(message)).toBe(true);
      const ce = CloudEventsKafka.toEvent(message) as CloudEvent<Buffer>;
      // The SDK's own check of the attributes (specversion, id, source a URI-reference, type, time, extension names).
      expect(ce.validate()).toBe(true);
      const { event, writerVersion } = await codec.decode(ce.data!, '2.0.0');
      const onex = event as { event_id: string; event_type: string; node_id: string; timestamp: string; correlation_id?: string };
      expect(ids).toContain(onex.event_id);
      expect(writerVersion).toBe('2.0.0');
      expect(ce.specversion).toBe('1.0');
      expect(ce.id).toBe(onex.event_id);
      expect(ce.type).toBe(`onex.${onex.event_type}`);
      expect(ce.source).toBe(`urn:onex:node:${encodeURIComponent(onex.node_id)}`);
      expect(ce.time).toBe(new Date(onex.timestamp).toISOString());
      expect(ce.subject).toBe(onex.correlation_id);
      expect(ce.datacontenttype).toBe('application/avro');
      expect(ce.onexschemaversion).toBe('2.0.0');
      expect(ce.traceparent).toBe(message.headers.traceparent);
      // The data is the record value byte for byte (Confluent wire format), so an Avro reader decodes it as ours does.
      expect(Buffer.compare(ce.data!, record.value!)).toBe(0);
    }
    expect(records.some((r) => asBindingMessage(r).headers.traceparent?.startsWith('00-'))).toBe(true);
  });

  it('with onex.producer.cloudevents off the records carry no ce_ headers, so the SDK sees no CloudEvent in them', async () => {
    const topic = await newTopic(kafka, 'sdk-ce-off', 1);
    const flags = new FlagSet({ domain: `ce-off-${topic}` });
    await flags.useProvider(new InMemoryProvider({ 'onex.producer.cloudevents': { variants: { on: true, off: false }, defaultVariant: 'off', disabled: false } }));
    const producer = new OnexProducer({ kafka, registry: registryUrl(), topic, flags, metricsRegistry: new Registry() });
    try {
      await producer.emit(new SyntheticEvents({ seed: 3 }).next().event);
    } finally {
      await producer.close();
    }
    const [record] = await consumeMessages(kafka, topic, 1, 30_000);
    const message = asBindingMessage(record!);
    expect(Object.keys(message.headers).filter((h) => h.startsWith('ce_'))).toEqual([]);
    // isEvent answers undefined rather than false here; toEvent says it outright.
    expect(CloudEventsKafka.isEvent(message)).toBeFalsy();
    expect(() => CloudEventsKafka.toEvent(message)).toThrow(/No CloudEvent detected/);
  });

  it('the worker takes structured-mode CloudEvents from a CloudEvents SDK producer, upcasts their data and dead-letters bad ones without stopping', async () => {
    const topic = await newTopic(kafka, 'sdk-ce-structured', 1);
    const events = new SyntheticEvents({ versions: ['1.3.0'], seed: 21 });
    const structured = (data: unknown, attrs: Record<string, unknown> = {}): Message => {
      const ce = new CloudEvent({ source: 'https://billing.example/checkout', type: 'com.example.onex', datacontenttype: 'application/json', data, ...attrs });
      const m = CloudEventsKafka.structured(ce) as { value: string; headers: Record<string, string> };
      return { value: m.value, headers: m.headers };
    };
    const structuredHeaders = { 'content-type': 'application/cloudevents+json; charset=UTF-8' };
    const good1 = jsonEvent(events);
    const good2 = jsonEvent(events);
    const badId = { ...jsonEvent(events), event_id: 'not-a-uuid' };
    const mismatched = jsonEvent(events);
    const bad: Array<[Message, string]> = [
      [{ value: '{"specversion": "1.0", "id": ', headers: structuredHeaders }, 'ONEX_EVENT_613'],
      [{ value: JSON.stringify({ specversion: '0.3', id: 'x', source: 's', type: 't', data: good1 }), headers: structuredHeaders }, 'ONEX_EVENT_613'],
      [structured(undefined, { data_base64: Buffer.from('avro bytes').toString('base64') }), 'ONEX_EVENT_614'],
      [structured(badId), 'ONEX_VALID_105'],
      [structured(mismatched, { type: mismatched.event_type === 'NODE_START' ? 'onex.NODE_FAILURE' : 'onex.NODE_START' }), 'ONEX_EVENT_614'],
    ];
    const raw = kafka.producer();
    await raw.connect();
    try {
      await raw.send({ topic, messages: [structured(good1), ...bad.map(([m]) => m), structured(good2, { type: `onex.${String(good2.event_type)}` })] });
    } finally {
      await raw.disconnect();
    }

    const seen: Array<{ id: string; version: string; writer: string; schemaId: number }> = [];
    let gotBoth!: () => void;
    const both = new Promise<void>((r) => (gotBoth = r));
    const worker = createWorker({
      kafka,
      registry: registryUrl(),
      groupId: uniqueTopic('sdk-ce-group'),
      topics: topic,
      fromBeginning: true,
      targetVersion: '2.0.0',
      metricsRegistry: new Registry(),
      handlers: {
        '*': (event, ctx) => {
          seen.push({ id: (event as { event_id: string }).event_id, version: (event as { schema_version: string }).schema_version, writer: ctx.writerVersion, schemaId: ctx.schemaId });
          if (seen.length === 2) gotBoth();
        },
      },
    });
    try {
      await worker.start();
      await Promise.race([both, new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${seen.length} of 2 events arrived in 30 s`)), 30_000))]);
      expect(seen).toEqual([
        { id: good1.event_id, version: '2.0.0', writer: '1.3.0', schemaId: 0 },
        { id: good2.event_id, version: '2.0.0', writer: '1.3.0', schemaId: 0 },
      ]);
      const letters = await consumeMessages(kafka, `${topic}.dlq`, bad.length, 30_000);
      expect(letters.map((l) => header(l.headers, DLQ_HEADERS.errorCode))).toEqual(bad.map(([, code]) => code));
      // The dead letter is the original record, so it can be redriven once its producer is fixed.
      expect(letters.map((l) => l.value?.toString())).toEqual(bad.map(([m]) => String(m.value)));
      expect(worker.stats()).toMatchObject({ handled: 2, deadLettered: bad.length });
    } finally {
      await worker.stop();
    }
  });
});
