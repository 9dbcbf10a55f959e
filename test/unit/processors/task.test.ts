import type { Batch, Kafka, TopicMessages } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { formatTimestamp } from '../../../src/event/index.js';
import { ProcessorMetrics } from '../../../src/processors/index.js';
import { resolveProcessorOptions } from '../../../src/processors/options.js';
import { PartitionTask } from '../../../src/processors/task.js';
import { logger } from '../../../src/logging/index.js';
import { WorkerMetrics } from '../../../src/worker/index.js';
import { runningCount } from '../../fixtures/processors/running-count.js';
import { encodeFake, eventV2, FakeControl, FakeDecoder } from '../worker/fakes.js';

/** A transactional producer whose sends fail while `failSends` > 0 (as a send to a topic that does not exist yet). */
class FakeTransactions {
  failSends = 0;
  /** sendOffsets is refused with CONCURRENT_TRANSACTIONS this many times (the previous transaction's markers). */
  refuseOffsets = 0;
  offsetSends = 0;
  /** What the transaction saw, in order. */
  readonly log: string[] = [];
  committed: TopicMessages[][] = [];
  aborts = 0;
  readonly kafka = {
    consumer: () => ({}),
    producer: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      transaction: async () => {
        let sent: TopicMessages[] = [];
        return {
          sendBatch: async ({ topicMessages }: { topicMessages: TopicMessages[] }) => {
            if (this.failSends > 0) {
              this.failSends--;
              throw Object.assign(new Error('This server does not host this topic-partition'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
            }
            sent = topicMessages;
          },
          sendOffsets: async () => {
            this.offsetSends++;
            if (this.refuseOffsets > 0) {
              this.refuseOffsets--;
              throw Object.assign(new Error('The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing'), { type: 'CONCURRENT_TRANSACTIONS' });
            }
            this.log.push('offsets');
          },
          commit: async () => void (this.log.push('commit'), this.committed.push(sent)),
          abort: async () => void (this.log.push('abort'), this.aborts++),
        };
      },
    }),
  } as unknown as Kafka;
}

function batchOf(events: Record<string, unknown>[]): Batch {
  const messages = events.map((e, i) => ({ offset: String(i), key: Buffer.from(String(e.node_id)), value: encodeFake(e), headers: {}, timestamp: '0', attributes: 0 }));
  return { topic: 'in', partition: 0, highWatermark: String(events.length), messages, firstOffset: () => '0' } as unknown as Batch;
}

describe('PartitionTask', () => {
  it('an aborted batch keeps its partition out of the idle tick until it is fetched again, so its records are not dropped as late', async () => {
    const fake = new FakeTransactions();
    const o = resolveProcessorOptions({ kafka: fake.kafka, groupId: 'g', topic: 'in', decoder: new FakeDecoder(), definition: runningCount('out', 1_000), allowedLatenessMs: 0 });
    const registry = new Registry();
    const task = new PartitionTask(0, { kafka: fake.kafka, o, metrics: new ProcessorMetrics('t', registry), workerMetrics: new WorkerMetrics(registry), log: logger('task-test') });
    await task.open();
    const at = Date.now();
    const batch = batchOf([0, 1].map((i) => eventV2({ node_id: 'n1', timestamp: formatTimestamp((at + i) * 1000) })));

    fake.failSends = 1;
    await expect(task.runBatch(batch, new FakeControl())).rejects.toMatchObject({ code: 'ONEX_RT_421' });
    expect(fake.aborts).toBe(1);
    // A tick long after (the abort took its time): the partition is not idle, its batch is still to come.
    await task.tick(Date.now() + 60_000);
    expect(task.stats.late).toBe(0);

    // Fetched again: both records count, on time, and their output commits once.
    expect(await task.runBatch(batch, new FakeControl())).toBe('1');
    expect(task.stats).toMatchObject({ recordsIn: 2, recordsOut: 2, late: 0, aborts: 1 });
    const out = fake.committed.flat().filter((t) => t.topic === 'out').flatMap((t) => t.messages.map((m) => JSON.parse(String(m.value)) as { n: number; late: boolean }));
    expect(out).toEqual([expect.objectContaining({ n: 1, late: false }), expect.objectContaining({ n: 2, late: false })]);

    // Idle for real now: the tick moves the watermark on and the key's idle timer fires.
    await task.tick(Date.now() + 60_000);
    const idle = fake.committed.flat().filter((t) => t.topic === 'out').flatMap((t) => t.messages.map((m) => JSON.parse(String(m.value)) as { idle?: boolean }));
    expect(idle.filter((m) => m.idle)).toHaveLength(1);
    await task.close();
  });

  it('offsets refused while the previous transaction ends are sent again, and the batch commits without an abort', async () => {
    const fake = new FakeTransactions();
    const o = resolveProcessorOptions({ kafka: fake.kafka, groupId: 'g', topic: 'in', decoder: new FakeDecoder(), definition: runningCount('out', 1_000), allowedLatenessMs: 0 });
    const registry = new Registry();
    const task = new PartitionTask(0, { kafka: fake.kafka, o, metrics: new ProcessorMetrics('t', registry), workerMetrics: new WorkerMetrics(registry), log: logger('task-test') });
    await task.open();
    fake.refuseOffsets = 2;
    expect(await task.runBatch(batchOf([eventV2({ node_id: 'n1', timestamp: formatTimestamp(Date.now() * 1000) })]), new FakeControl())).toBe('0');
    expect(fake.offsetSends).toBe(3);
    expect(fake.log).toEqual(['offsets', 'commit']);
    expect(task.stats).toMatchObject({ commits: 1, aborts: 0, recordsOut: 1 });
    expect(task.committedOffset).toBe(1);
    await task.close();
  });
});
