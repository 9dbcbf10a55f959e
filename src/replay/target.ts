import { onexError } from '../errors/index.js';

/**
 * Where a replay may write. By default never into a topic it reads: a replay into the live topic would double every
 * live count and alert, so it takes an explicit `allowSourceTopic` (`--allow-source-topic` on the command line).
 */
export function checkReplayTarget(sourceTopics: readonly string[], toTopic: string, allowSourceTopic = false): void {
  if (toTopic.trim() === '') throw onexError('ONEX_RT_407', 'invalid replay option toTopic: give the topic to replay into');
  if (!allowSourceTopic && sourceTopics.includes(toTopic)) {
    throw onexError('ONEX_CLI_320', `the replay would write into ${toTopic}, the topic it reads, and double its live counts and alerts; replay into another topic or pass --allow-source-topic`, {
      details: { toTopic, sourceTopics },
    });
  }
}
