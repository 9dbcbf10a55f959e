import type { Admin, ITopicConfig } from 'kafkajs';
import { asOnexError } from '../errors/index.js';

export interface TopicSpec {
  topic: string;
  partitions?: number;
  replicationFactor?: number;
  /** Topic-level configs, e.g. { 'cleanup.policy': 'compact' }. */
  configs?: Record<string, string>;
}

/**
 * Creates the topics that do not exist yet and leaves existing ones alone, so start-up can call it every time and
 * several processes can race on it. Returns the names it created.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  const topics: ITopicConfig[] = missing.map((s) => ({
    topic: s.topic,
    numPartitions: s.partitions ?? 1,
    replicationFactor: s.replicationFactor ?? -1,
    configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
  }));
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } catch (err) {
    // Another process created one of them between listTopics and createTopics: that is the outcome we wanted.
    const e = err as { type?: string; errors?: Array<{ type?: string }> };
    const onlyExists =
      e.type === 'TOPIC_ALREADY_EXISTS' || (e.errors?.length && e.errors.every((x) => x.type === 'TOPIC_ALREADY_EXISTS'));
    if (!onlyExists) throw asOnexError(err, 'ONEX_EVENT_600', `could not create topics ${missing.map((m) => m.topic).join(', ')}: ${(err as Error).message}`);
  }
  return missing.map((m) => m.topic);
}
