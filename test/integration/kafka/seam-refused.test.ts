import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createKafka, kafkajsSeam, registerSeamMetrics } from '../../../src/kafka/index.js';
import { refuseSeam } from '../../../src/kafka/kafkajs-requests.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { createWorker } from '../../../src/worker/index.js';
import { kafkaBrokers } from '../../support/kafka.js';
import { newTopic, useTestRegistry } from '../producer/helpers.js';

// Before any client of this file's process is made: both hooks refused, as a kafkajs of another version (or of
// another shape) would make them. Integration test files run in processes of their own, so no other file is affected.
refuseSeam('produce', 'refused by the seam-refused test');
refuseSeam('fetch', 'refused by the seam-refused test');

describe('the pipeline with the kafkajs hooks refused', () => {
  const registryUrl = useTestRegistry();

  it('delivers every event through kafkajs\'s own codecs, and the stats call and the gauge say the hooks are off', async () => {
    const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'seam-refused' });
    const topic = await newTopic(kafka, 'seam-refused', 2);
    const producer = new OnexProducer({ kafka, registry: registryUrl(), topic, metricsRegistry: new Registry() });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const result = await producer.emit({ node_id: 'seam_node-1', event_type: 'NODE_START', correlation_id: `c-${i}`, metadata: { input_state: { i } } });
      expect(result.status).toBe('sent');
      ids.push(result.eventId);
    }
    await producer.close();

    const seen = new Set<string>();
    const worker = createWorker({
      kafka,
      registry: registryUrl(),
      groupId: `g-${topic}`,
      topics: topic,
      fromBeginning: true,
      metricsRegistry: new Registry(),
      consumer: { maxWaitTimeMs: 100 },
      handlers: { '*': (event) => void seen.add(event.event_id) },
    });
    await worker.start();
    try {
      const deadline = Date.now() + 60_000;
      while (seen.size < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await worker.stop();
    }
    expect([...seen].sort()).toEqual([...ids].sort());

    const seam = kafkajsSeam();
    for (const request of ['produce', 'fetch'] as const) {
      expect(seam[request]).toMatchObject({ installed: false, reason: 'refused by the seam-refused test', fast: 0, fallbacks: 0 });
    }
    const metrics = new Registry();
    registerSeamMetrics(metrics);
    const text = await metrics.metrics();
    expect(text).toContain('onex_kafkajs_hook_installed{request="produce"} 0');
    expect(text).toContain('onex_kafkajs_hook_installed{request="fetch"} 0');
  });
});
