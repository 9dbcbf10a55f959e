import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnexEventCodec, readWireFormat, registryFromUrl } from '../../../src/codec/index.js';
import { createKafka, ensureTopics } from '../../../src/kafka/index.js';
import { SCHEMA_VERSIONS, transformEvent } from '../../../src/schema/index.js';
import { consumeMessages, kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { startTestRegistry, type TestRegistry } from '../../support/registry.js';

describe('events of every version through the real registry and broker', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry();
  });
  afterAll(() => registry.stop());

  it('a reader that never saw the writer decodes each version into every target', async () => {
    const writer = new OnexEventCodec({ registry: registryFromUrl(registry.url) });
    for (const v of SCHEMA_VERSIONS) await writer.prepare(v);

    const base = {
      event_id: 'b3f1e0c2-6d7a-4f5e-8a9b-1c2d3e4f5a6b',
      timestamp: '2026-11-23T18:00:00.000001Z',
      node_id: 'validator_node-007',
      event_type: 'NODE_FAILURE',
      correlation_id: 'c0ffee00-1111-4222-8333-444455556666',
      metadata: { input_state: { path: 'x' }, error: 'boom', error_code: 'ONEX_STAMP_001' },
    };
    const kafka = createKafka({ brokers: kafkaBrokers() });
    const topic = uniqueTopic('codec');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic }]);
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: SCHEMA_VERSIONS.map((v) => ({ key: base.correlation_id, value: writer.encode(transformEvent(base, v), v) })),
    });
    await producer.disconnect();

    const values = (await consumeMessages(kafka, topic, SCHEMA_VERSIONS.length)).map((m) => m.value!);

    // A second codec has no cache: it learns every writer schema from the registry by id.
    const reader = new OnexEventCodec({ registry: registryFromUrl(registry.url) });
    const ids = new Set(values.map((v) => readWireFormat(v).schemaId));
    expect(ids.size).toBe(SCHEMA_VERSIONS.length);
    for (const [i, value] of values.entries()) {
      for (const target of SCHEMA_VERSIONS) {
        const { event, writerVersion } = await reader.decode(value, target);
        expect(writerVersion).toBe(SCHEMA_VERSIONS[i]);
        expect(event).toEqual(transformEvent(transformEvent(base, SCHEMA_VERSIONS[i]!), target));
      }
    }
  });
});
