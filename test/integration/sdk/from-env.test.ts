import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SyntheticEvents } from '../../../src/dev/index.js';
import { createKafka } from '../../../src/kafka/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { startRegistry } from '../../../src/registry/index.js';
import { createWorker } from '../../../src/worker/index.js';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { newTopic } from '../producer/helpers.js';

describe('one way to configure both sides: OnexProducer.fromEnv and createWorker.fromEnv on the CLI environment', () => {
  it('a producer and a worker built from the same environment (broker, registry with basic auth) meet, the worker upcasting', async () => {
    const registry = await startRegistry({ port: 0, store: { kind: 'kafka', brokers: kafkaBrokers(), topic: uniqueTopic('schemas') }, auth: { users: { svc: 'pw' }, scope: 'all' } });
    const kafka = createKafka({ brokers: kafkaBrokers() });
    const topic = await newTopic(kafka, 'sdk-from-env', 1);
    const env = { KAFKA_BROKERS: kafkaBrokers().join(','), SCHEMA_REGISTRY_URL: registry.url, SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'svc:pw' };
    const producer = OnexProducer.fromEnv({ topic, schemaVersion: '1.3.0', metricsRegistry: new Registry() }, env);
    const seen: Array<{ type: string; writer: string; version: string; id: string | undefined }> = [];
    let gotAll!: () => void;
    const all = new Promise<void>((r) => (gotAll = r));
    const worker = createWorker.fromEnv(
      {
        groupId: uniqueTopic('sdk-from-env-group'),
        topics: topic,
        fromBeginning: true,
        targetVersion: '2.0.0',
        metricsRegistry: new Registry(),
        handlers: {
          '*': (event, ctx) => {
            seen.push({ type: (event as { event_type: string }).event_type, writer: ctx.writerVersion, version: (event as { schema_version: string }).schema_version, id: ctx.eventId });
            if (seen.length === 5) gotAll();
          },
        },
      },
      env,
    );
    try {
      await producer.start();
      const events = new SyntheticEvents({ versions: ['1.3.0'], seed: 7 });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await producer.emit(events.next().event)).eventId);
      await worker.start();
      await Promise.race([all, new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${seen.length} of 5 events arrived in 30 s`)), 30_000))]);
      expect(seen.map((s) => s.id).sort()).toEqual([...ids].sort());
      expect(seen.every((s) => s.writer === '1.3.0' && s.version === '2.0.0')).toBe(true);
    } finally {
      await producer.close();
      await worker.stop();
      await registry.close();
    }
  });

  it('without the registry password the producer fails at start with the registry refusing it, not later', async () => {
    const registry = await startRegistry({ port: 0, store: { kind: 'memory' }, auth: { users: { svc: 'pw' }, scope: 'all' } });
    const producer = OnexProducer.fromEnv({ topic: uniqueTopic('sdk-no-auth'), metricsRegistry: new Registry() }, { KAFKA_BROKERS: kafkaBrokers().join(','), SCHEMA_REGISTRY_URL: registry.url });
    try {
      await expect(producer.start()).rejects.toMatchObject({ code: expect.stringMatching(/^ONEX_REG_/) });
    } finally {
      await producer.close().catch(() => undefined);
      await registry.close();
    }
  });
});
