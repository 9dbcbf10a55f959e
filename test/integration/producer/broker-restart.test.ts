import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalBroker, stopLocalBroker, SyntheticEvents } from '../../../src/dev/index.js';
import { createKafka } from '../../../src/kafka/index.js';
import { OnexProducer, type EmitResult } from '../../../src/producer/index.js';
import { startTestRegistry, type TestRegistry } from '../../support/registry.js';
import { consumeAll, decoderFor, newTopic } from './helpers.js';

/**
 * A broker of this file's own (the shared one must not go away under other tests), stopped and started again on
 * the same data dir while 50,000 events are in flight: the same port, the same log, the producer's idempotence state
 * restored from the broker's snapshot.
 */
describe('a broker restart during a 50,000-event run, and a broker that stays down', () => {
  let dataDir: string;
  let bootstrap: string;
  let registry: TestRegistry;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'onex-producer-restart-'));
    const { info } = await startLocalBroker({ dataDir, ownerPid: process.pid, heapMb: 512 });
    bootstrap = info.bootstrap;
    registry = await startTestRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    if (dataDir) {
      await stopLocalBroker(dataDir, 30_000);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('loses nothing and duplicates nothing: the consumer sees exactly the 50,000 accepted event ids', async () => {
    const kafka = createKafka({ brokers: bootstrap, clientId: 'producer-restart' });
    const topic = await newTopic(kafka, 'producer-restart', 3);
    const producer = new OnexProducer({
      kafka,
      registry: registry.url,
      topic,
      // A small buffer, so that emits block during the outage instead of piling up; generous timeouts, so that the
      // outage (stop + start of a JVM) fits in them.
      buffer: { maxBytes: 2 * 1024 * 1024, overflow: 'block', blockTimeoutMs: 240_000 },
      deliveryTimeoutMs: 240_000,
      metricsRegistry: new Registry(),
    });
    await producer.start();

    const total = 50_000;
    const g = new SyntheticEvents({ versions: ['1.3.0'], seed: 99 });
    const accepted = new Set<string>();
    let acked = 0;
    let ackedWhenStopped = -1;
    let ackedWhenBack = -1;
    let restart: Promise<void> | undefined;
    let previous: Promise<EmitResult>[] = [];
    const chunk = 2_500;
    for (let i = 0; i < total; i += chunk) {
      const current: Promise<EmitResult>[] = [];
      for (let j = i; j < i + chunk; j++) {
        const event = { ...g.next().event, event_id: crypto.randomUUID() };
        current.push(
          producer.emit(event).then((r) => {
            acked++;
            accepted.add(r.eventId);
            return r;
          }),
        );
      }
      if (i === 15_000) {
        restart = (async () => {
          await stopLocalBroker(dataDir, 30_000);
          ackedWhenStopped = acked;
          await new Promise((r) => setTimeout(r, 2_000));
          await startLocalBroker({ dataDir, ownerPid: process.pid, heapMb: 512 });
          ackedWhenBack = acked;
        })();
      }
      // One chunk in flight while the next is emitted: bounded, and the run keeps going through the outage.
      await Promise.all(previous);
      previous = current;
    }
    await Promise.all(previous);
    await restart;
    await producer.close();

    process.stderr.write(`restart: ${ackedWhenStopped} acknowledged when the broker stopped, ${ackedWhenBack} when it was back\n`);
    expect(accepted.size).toBe(total);
    // The restart happened in the middle of the run, and the producer waited it out.
    expect(ackedWhenStopped).toBeGreaterThan(0);
    expect(ackedWhenStopped).toBeLessThan(total);
    expect(ackedWhenBack).toBeLessThan(total);

    const records = await consumeAll(kafka, topic, 180_000);
    expect(records).toHaveLength(total);
    const decode = decoderFor(registry.url);
    const seen = new Set<string>();
    for (const r of records) seen.add(String((await decode(r.value, '1.3.0')).event.event_id));
    expect(seen.size).toBe(total);
    expect([...accepted].every((id) => seen.has(id))).toBe(true);
  }, 600_000); // a JVM stop and start on a busy 2-core machine can take minutes; the run itself is bounded by its count

  it('with the broker down, reports every event: ONEX_EVENT_608 when the buffer is full (reject policy), ONEX_EVENT_612 at the delivery timeout', async () => {
    const kafka = createKafka({ brokers: bootstrap, clientId: 'producer-outage' });
    const topic = await newTopic(kafka, 'producer-outage', 1);
    const failures: string[] = [];
    const producer = new OnexProducer({
      kafka,
      registry: registry.url,
      topic,
      buffer: { maxBytes: 64 * 1024, overflow: 'reject' },
      maxEventBytes: 16 * 1024,
      deliveryTimeoutMs: 3_000,
      metricsRegistry: new Registry(),
    });
    producer.onFailure((e) => failures.push(e.code));
    await producer.start();
    await stopLocalBroker(dataDir, 30_000); // and it stays down: afterAll has nothing left to stop

    const g = new SyntheticEvents({ versions: ['1.3.0'], seed: 5 });
    const outcomes = await Promise.all(
      Array.from({ length: 400 }, () => producer.emit(g.next().event).then((r) => r.status, (e: { code: string }) => e.code)),
    );
    await producer.close();
    const count = (code: string) => outcomes.filter((o) => o === code).length;
    expect(count('ONEX_EVENT_608')).toBeGreaterThan(0); // the 64 KB buffer holds far fewer than 400 events
    expect(count('ONEX_EVENT_612')).toBeGreaterThan(0); // the accepted ones, once their 3 s were up
    expect(count('ONEX_EVENT_608') + count('ONEX_EVENT_612')).toBe(400); // nothing sent, nothing silently dropped
    expect(failures.sort()).toEqual(outcomes.filter((o) => o !== 'sent').sort());
  }, 120_000);
});
