import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { isOnexError } from '../../../src/errors/index.js';
import { createKafka } from '../../../src/kafka/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { SyntheticEvents } from '../../../src/dev/index.js';
import { kafkaBrokers } from '../../support/kafka.js';
import { consumeAll, decoderFor, newTopic, useTestRegistry } from './helpers.js';

describe('close() right after emit() on a real broker', () => {
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'producer-close' });
  const registryUrl = useTestRegistry();

  it('delivers every event emitted before close(), awaited or fire-and-forget, and refuses later ones with ONEX_EVENT_609', async () => {
    const topic = await newTopic(kafka, 'producer-close', 3);
    // A long linger: without close() sealing the open batches, nothing would be sent for a minute.
    const producer = new OnexProducer({ kafka, registry: registryUrl(), topic, batch: { lingerMs: 60_000 }, metricsRegistry: new Registry() });
    await producer.start();
    const g = new SyntheticEvents({ versions: ['1.3.0'], sizeBytes: 600, seed: 7 });
    const ids = new Set<string>();
    const awaited: Promise<unknown>[] = [];
    for (let i = 0; i < 3_000; i++) {
      const event = { ...g.next().event, event_id: crypto.randomUUID() };
      ids.add(event.event_id);
      if (i % 2 === 0) awaited.push(producer.emit(event));
      else producer.emitAndForget(event);
    }
    // One large event in the LZ4 lane too.
    const large = { ...new SyntheticEvents({ versions: ['1.3.0'], sizeBytes: 40_000, seed: 8 }).next().event, event_id: crypto.randomUUID() };
    ids.add(large.event_id);
    producer.emitAndForget(large);
    await producer.close();
    await Promise.all(awaited);

    const late = await producer.emit(g.next().event).catch((e: unknown) => e);
    expect(isOnexError(late, 'ONEX_EVENT_609')).toBe(true);

    const decode = decoderFor(registryUrl());
    const records = await consumeAll(kafka, topic);
    expect(records).toHaveLength(ids.size);
    const got = new Set<string>();
    for (const r of records) got.add(String((await decode(r.value, '1.3.0')).event.event_id));
    expect(got).toEqual(ids);
  });
});
