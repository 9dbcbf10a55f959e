import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap servers of the one broker shared by the whole test run, comma separated. */
    kafkaBrokers: string;
    /** Where the broker came from: 'env' (KAFKA_BROKERS), 'testcontainers' or 'local' (onex kafka launcher). */
    kafkaSource: string;
    /** Classpath of the local Kafka artifacts (for running Kafka's Java tools); '' when it was not resolved. */
    kafkaClasspath: string;
  }
}

/** The shared broker's bootstrap servers. */
export function kafkaBrokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

/** A topic name no other test uses: prefix, worker id and random suffix. */
export function uniqueTopic(prefix: string): string {
  const worker = process.env.VITEST_POOL_ID ?? '0';
  return `t.${prefix}.${worker}.${randomBytes(4).toString('hex')}`;
}

/**
 * Reads `count` messages of a topic from the beginning with a fresh consumer group (read committed, kafkajs's
 * default), in the order each partition holds them, each with its partition, then leaves the group. Fails if they do
 * not all arrive within timeoutMs. `settleMs` keeps reading that much longer once they have, so a caller can see a
 * record past the count it expected.
 */
export async function consumeMessages(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 120_000,
  options: { settleMs?: number } = {},
): Promise<Array<KafkaMessage & { partition: number }>> {
  const messages: Array<KafkaMessage & { partition: number }> = [];
  const consumer = kafka.consumer({ groupId: `${topic}.reader.${randomBytes(3).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${count} messages of ${topic} arrived within ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) messages.push({ ...m, partition: batch.partition });
            if (messages.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    if (options.settleMs) await new Promise((r) => setTimeout(r, options.settleMs));
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
