import { inject } from 'vitest';
import { runProcess, type ProcessRun } from './process.js';

export type JavaRun = ProcessRun;

/**
 * Runs one of Kafka's own Java tools (org.apache.kafka.tools.ConsoleProducer, ConsoleConsumer, ProducerPerformance)
 * on the classpath the local broker runs from: Kafka's Java client on the other end of a cross-client test.
 */
export function runKafkaJavaTool(mainClass: string, args: string[], stdin?: string, timeoutMs = 120_000): Promise<JavaRun> {
  const classpath = inject('kafkaClasspath');
  if (!classpath) throw new Error("Kafka's jars were not resolved by the test setup (is Maven installed?)");
  return runProcess('java', ['-Xmx256m', '-Dlog4j2.level=warn', '-cp', classpath, mainClass, ...args], { input: stdin, timeoutMs });
}

/** Kafka's Java console consumer reading `count` records of a topic from the beginning; `formatter` sets how it prints. */
export function runJavaConsoleConsumer(brokers: readonly string[], topic: string, count: number, formatter: Record<string, string> = {}): Promise<JavaRun> {
  return runKafkaJavaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server', brokers.join(','),
    '--topic', topic,
    '--from-beginning',
    '--max-messages', String(count),
    '--timeout-ms', '60000',
    ...Object.entries(formatter).flatMap(([k, v]) => ['--formatter-property', `${k}=${v}`]),
  ]);
}
