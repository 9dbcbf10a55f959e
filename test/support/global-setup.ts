import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { brokerAnswers, resolveKafkaClasspath, startEphemeralBroker } from '../../src/dev/index.js';
import { splitBrokers } from '../../src/kafka/index.js';
import { startKafkaContainer } from './kafka-container.js';

/**
 * Hands every integration test one real Kafka broker for the whole run:
 *  1. KAFKA_BROKERS when set (it must answer, or the run fails: no test is skipped for want of a broker);
 *  2. else, where a Docker engine answers, Apache Kafka's own image in a container (kafka-container.ts);
 *  3. else the local broker of `onex kafka start`, in a temporary data dir, stopped at the end (and by a watchdog if
 *     this process dies first).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const say = (line: string) => process.stderr.write(`[kafka] ${line}\n`);
  let teardown: () => Promise<void> = async () => undefined;
  let brokers: string;
  let source: string;

  if (process.env.KAFKA_BROKERS) {
    brokers = process.env.KAFKA_BROKERS;
    source = 'env';
    const first = splitBrokers(brokers)[0]!;
    if (!(await waitFor(() => brokerAnswers(first, 3_000), 60_000))) {
      throw new Error(`KAFKA_BROKERS=${brokers} does not answer metadata requests: start it, or unset KAFKA_BROKERS to let the tests start a broker`);
    }
  } else if (await dockerEngineAnswers()) {
    const container = await startKafkaContainer();
    brokers = container.bootstrap;
    source = 'testcontainers';
    teardown = container.stop;
  } else {
    const broker = await startEphemeralBroker({ prefix: 'onex-test-kafka-', heapMb: 768, onProgress: say });
    say(`local Apache Kafka ${broker.info.kafkaVersion} at ${broker.info.bootstrap}, ready in ${(broker.startMs / 1000).toFixed(1)} s`);
    brokers = broker.info.bootstrap;
    source = 'local';
    teardown = broker.stop;
  }

  let classpath = '';
  try {
    classpath = resolveKafkaClasspath();
  } catch (err) {
    say(`Kafka's Java tools are not available (${(err as Error).message}); tests that run them will fail`);
  }
  project.provide('kafkaBrokers', brokers);
  project.provide('kafkaSource', source);
  project.provide('kafkaClasspath', classpath);
  say(`broker from ${source} at ${brokers} (${Date.now() - t0} ms)`);
  return teardown;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** A Docker engine is worth asking only when its socket or DOCKER_HOST exists; asking costs seconds otherwise. */
async function dockerEngineAnswers(): Promise<boolean> {
  if (process.env.ONEX_TEST_NO_DOCKER === '1') return false;
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}
