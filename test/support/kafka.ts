import { randomBytes } from 'node:crypto';
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
