import type { Admin, ITopicConfig } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { checkReplication, defaultReplication, ensureTopics } from '../../../src/kafka/index.js';
import { resolveWorkerOptions } from '../../../src/worker/options.js';

/** An admin that answers like a cluster of `brokers` brokers and records the topics it was asked to create. */
function fakeAdmin(brokers: number, created: ITopicConfig[]): Admin {
  return {
    listTopics: async () => [],
    describeCluster: async () => ({ brokers: Array.from({ length: brokers }, (_, i) => ({ nodeId: i + 1, host: '127.0.0.1', port: 9092 + i })), controller: 1, clusterId: 'c' }),
    createTopics: async ({ topics }: { topics: ITopicConfig[] }) => {
      created.push(...topics);
      return true;
    },
  } as unknown as Admin;
}

const isrOf = (t: ITopicConfig) => t.configEntries?.find((c) => c.name === 'min.insync.replicas')?.value;

describe('replication of the topics the pipeline creates', () => {
  it('defaults to 3 copies with 2 in sync on three or more brokers, else 1 and 1', () => {
    expect(defaultReplication(1)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(defaultReplication(2)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(defaultReplication(3)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(defaultReplication(5)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it('ensureTopics writes the defaults for the cluster it sees, and what a spec says over them', async () => {
    const created: ITopicConfig[] = [];
    await ensureTopics(fakeAdmin(3, created), [
      { topic: 'a' },
      { topic: 'b', replicationFactor: 2, minInsyncReplicas: 1 },
      { topic: 'c', replicationFactor: 1 },
    ]);
    expect(created.map((t) => [t.topic, t.replicationFactor, isrOf(t)])).toEqual([
      ['a', 3, '2'],
      ['b', 2, '1'],
      ['c', 1, '1'],
    ]);
    const single: ITopicConfig[] = [];
    await ensureTopics(fakeAdmin(1, single), [{ topic: 'd', configs: { 'cleanup.policy': 'compact' } }]);
    expect(single[0]!.replicationFactor).toBe(1);
    expect(single[0]!.configEntries).toEqual([
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'min.insync.replicas', value: '1' },
    ]);
  });

  it('refuses more copies than brokers, and more in sync than copies, with ONEX_RT_407 naming the topic', async () => {
    await expect(ensureTopics(fakeAdmin(1, []), [{ topic: 'x', replicationFactor: 3 }])).rejects.toMatchObject({
      code: 'ONEX_RT_407',
      message: expect.stringContaining('replicationFactor 3 of topic x'),
    });
    await expect(ensureTopics(fakeAdmin(3, []), [{ topic: 'y', replicationFactor: 2, minInsyncReplicas: 3 }])).rejects.toMatchObject({
      code: 'ONEX_RT_407',
      message: expect.stringContaining('minInsyncReplicas 3 of topic y'),
    });
  });

  it('checks the options as written, naming the option', () => {
    expect(() => checkReplication({ replicationFactor: 0 }, 'processor')).toThrow(/ONEX_RT_407|invalid processor option replicationFactor/);
    expect(() => checkReplication({ minInsyncReplicas: 1.5 }, 'processor')).toThrow(/invalid processor option minInsyncReplicas/);
    expect(() => checkReplication({ replicationFactor: 2, minInsyncReplicas: 3 }, 'worker', 'deadLetter.')).toThrow(
      /invalid worker option deadLetter\.minInsyncReplicas: 3 is more than deadLetter\.replicationFactor 2/,
    );
    expect(checkReplication(undefined, 'worker')).toEqual({});
    try {
      resolveWorkerOptions({ kafka: { brokers: ['127.0.0.1:9092'] }, registry: 'http://127.0.0.1:1', groupId: 'g', topics: 't', handlers: {}, deadLetter: { replicationFactor: -1 } });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'ONEX_RT_407', message: expect.stringContaining('deadLetter.replicationFactor') });
    }
  });
});
