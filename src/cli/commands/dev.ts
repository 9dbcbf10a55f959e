import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import kafkajs from 'kafkajs';
import { onexError } from '../../errors/index.js';
import { brokerAnswers, createKafka, ensureTopics, splitBrokers, startLocalBroker, stopLocalBroker } from '../../kafka/index.js';
import { parsePositiveInt } from './kafka.js';

/**
 * `onex dev`: everything on embedded defaults. For now a smoke run of the foundation: a local broker (unless
 * KAFKA_BROKERS is set), a topic, N records produced with LZ4 and consumed back through a consumer group, a summary,
 * and the broker stopped again. The full pipeline (registry, worker, producer SDK) replaces the smoke load as it lands.
 */
export function registerDevCommands(program: Command): void {
  program
    .command('dev')
    .description('run the pipeline on embedded defaults: local broker, smoke produce/consume, summary')
    .option('--count <n>', 'records to send through the broker', parsePositiveInt, 10_000)
    .action(async (opts: { count: number }) => {
      const say = (line: string) => process.stderr.write(`${line}\n`);
      let stop: () => Promise<void> = async () => undefined;
      let brokers = process.env.KAFKA_BROKERS;
      if (brokers) {
        if (!(await brokerAnswers(splitBrokers(brokers)[0]!, 5_000))) {
          throw onexError('ONEX_EVENT_600', `KAFKA_BROKERS=${brokers} does not answer; start that cluster or unset KAFKA_BROKERS to use a local broker`);
        }
      } else {
        const dataDir = mkdtempSync(join(tmpdir(), 'onex-dev-kafka-'));
        const { info, startMs } = await startLocalBroker({ dataDir, ownerPid: process.pid, onProgress: say });
        say(`local Apache Kafka ${info.kafkaVersion} ready at ${info.bootstrap} in ${(startMs / 1000).toFixed(1)} s`);
        brokers = info.bootstrap;
        stop = async () => {
          await stopLocalBroker(dataDir);
          rmSync(dataDir, { recursive: true, force: true });
        };
      }
      try {
        const summary = await smokeRoundTrip(brokers, opts.count, say);
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        if (summary.consumed !== summary.produced) process.exitCode = 1;
      } finally {
        say('stopping...');
        await stop();
      }
    });
}

async function smokeRoundTrip(brokers: string, count: number, say: (line: string) => void) {
  const kafka = createKafka({ brokers, clientId: 'onex-dev' });
  const topic = `onex.dev.smoke.${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, partitions: 3 }]);
  await admin.disconnect();

  const t0 = Date.now();
  const producer = kafka.producer({ idempotent: true, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const batch = 1_000;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    await producer.send({
      topic,
      acks: -1,
      compression: kafkajs.CompressionTypes.LZ4,
      messages: Array.from({ length: n }, () => {
        const correlation = randomUUID();
        return { key: correlation, value: JSON.stringify({ event_id: randomUUID(), event_type: 'NODE_START', correlation_id: correlation, timestamp: new Date().toISOString() }) };
      }),
    });
  }
  await producer.disconnect();
  const produceSeconds = (Date.now() - t0) / 1000;
  say(`produced ${count} events to ${topic} in ${produceSeconds.toFixed(2)} s`);

  const t1 = Date.now();
  let consumed = 0;
  const consumer = kafka.consumer({ groupId: `${topic}.group` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => resolve(), 120_000);
    consumer
      .run({
        eachBatch: async ({ batch: b }) => {
          consumed += b.messages.length;
          if (consumed >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  const consumeSeconds = (Date.now() - t1) / 1000;
  say(`consumed ${consumed} events in ${consumeSeconds.toFixed(2)} s`);
  return { topic, produced: count, consumed, produce_seconds: produceSeconds, consume_seconds: consumeSeconds };
}
