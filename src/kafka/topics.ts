import type { Admin, ITopicConfig } from 'kafkajs';
import { asOnexError, onexError } from '../errors/index.js';
import { transportFailure } from './transport-errors.js';
import { flags } from '../flags/index.js';
import { BACKOFFS, backoffDelay, sleep } from '../retry/index.js';
import type { TopicReplication, TopicSpec } from './types.js';

/**
 * The safe default for a cluster of `brokers` brokers: 3 copies with 2 in sync on three or more (one broker may die or
 * hang and writes go on; an acknowledged write is on two brokers), else 1 and 1 (a single broker has nothing to copy to).
 */
export function defaultReplication(brokers: number): Required<TopicReplication> {
  return brokers >= 3 ? { replicationFactor: 3, minInsyncReplicas: 2 } : { replicationFactor: 1, minInsyncReplicas: 1 };
}

/**
 * Checks replication options as the user wrote them (`prefix` names where they sit, e.g. 'deadLetter.'); ONEX_RT_407
 * names the option. Returns only what was set.
 */
export function checkReplication(r: TopicReplication | undefined, what: string, prefix = ''): TopicReplication {
  const out: TopicReplication = {};
  for (const key of ['replicationFactor', 'minInsyncReplicas'] as const) {
    const v = r?.[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 32_767) {
      throw onexError('ONEX_RT_407', `invalid ${what} option ${prefix}${key}: ${JSON.stringify(v)} is not a whole number from 1 to 32767`);
    }
    out[key] = v;
  }
  if (out.replicationFactor !== undefined && out.minInsyncReplicas !== undefined && out.minInsyncReplicas > out.replicationFactor) {
    throw onexError(
      'ONEX_RT_407',
      `invalid ${what} option ${prefix}minInsyncReplicas: ${out.minInsyncReplicas} is more than ${prefix}replicationFactor ${out.replicationFactor}, so no write could ever be acknowledged`,
    );
  }
  return out;
}

const METADATA_LAG = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_CONTROLLER']);

/** The error, or what kafkajs wrapped in it after its own retries, says the cluster's metadata is still settling. */
function metadataLagging(err: unknown): boolean {
  let e = err as { type?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 5; i++, e = e.cause as typeof e) if (e.type && METADATA_LAG.has(e.type)) return true;
  return false;
}

/**
 * Creates the topics that do not exist yet and leaves existing ones alone, so start-up can call it every time and
 * several processes can race on it. Replication a spec leaves out follows defaultReplication for the brokers the
 * cluster reports now; `min.insync.replicas` is written into the topic's config. Returns the names it created.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[], attempt = 1): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  const brokers = (await admin.describeCluster()).brokers.length;
  // Flag off: what is not set is left to the broker's defaults (-1 and no topic config), as before the flag.
  const defaults: TopicReplication = flags.isEnabled('onex.topics.replication', true) ? defaultReplication(brokers) : {};
  const topics: ITopicConfig[] = missing.map((s) => {
    const replicationFactor = s.replicationFactor ?? defaults.replicationFactor ?? -1;
    const d = defaults.minInsyncReplicas;
    const isr = s.minInsyncReplicas ?? (d !== undefined && replicationFactor > 0 ? Math.min(d, replicationFactor) : d);
    if (s.minInsyncReplicas !== undefined && replicationFactor > 0 && s.minInsyncReplicas > replicationFactor) {
      throw onexError('ONEX_RT_407', `minInsyncReplicas ${s.minInsyncReplicas} of topic ${s.topic} is more than its replicationFactor ${replicationFactor}, so no write could ever be acknowledged`);
    }
    const minIsr = s.configs?.['min.insync.replicas'] ?? (isr === undefined ? undefined : String(isr));
    if (replicationFactor > brokers) {
      throw onexError(
        'ONEX_RT_407',
        `replicationFactor ${replicationFactor} of topic ${s.topic} is more than the ${brokers} broker(s) the cluster has now`,
      );
    }
    return {
      topic: s.topic,
      numPartitions: s.partitions ?? 1,
      replicationFactor,
      configEntries: Object.entries({ ...s.configs, ...(minIsr === undefined ? {} : { 'min.insync.replicas': minIsr }) }).map(([name, value]) => ({ name, value })),
    };
  });
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } catch (err) {
    // Another process created one of them between listTopics and createTopics: that is the outcome we wanted.
    const e = err as { type?: string; errors?: Array<{ type?: string }> };
    const onlyExists =
      e.type === 'TOPIC_ALREADY_EXISTS' || (e.errors?.length && e.errors.every((x) => x.type === 'TOPIC_ALREADY_EXISTS'));
    // A broker that just created a topic can answer the leader wait with a retriable error (UNKNOWN_TOPIC_OR_PARTITION,
    // NOT_LEADER) while its metadata catches up: ask again; what was created is listed now and not created twice.
    if (!onlyExists && metadataLagging(err) && attempt < 5) {
      await sleep(backoffDelay(BACKOFFS.startup, attempt));
      return ensureTopics(admin, specs, attempt + 1);
    }
    if (!onlyExists) throw transportFailure(err) ?? asOnexError(err, 'ONEX_EVENT_600', `could not create topics ${missing.map((m) => m.topic).join(', ')}: ${(err as Error).message}`);
  }
  return missing.map((m) => m.topic);
}
