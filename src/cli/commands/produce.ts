import { Command, InvalidArgumentError, Option } from 'commander';
import { isOnexError, onexError, type OnexError } from '../../errors/index.js';
import { ALL_EVENT_TYPES, isSchemaVersion, versionAtLeast, type OnexEventType, type SchemaVersion } from '../../event/index.js';
import { brokerAnswers, SyntheticEvents } from '../../dev/index.js';
import { checkReplication, createKafka, ensureTopics, kafkaConfigFromEnv, transportFailure } from '../../kafka/index.js';
import { OnexProducer, type EmitResult } from '../../producer/index.js';
import { startRegistry, type RunningRegistry } from '../../registry/index.js';
import { registryFromEnv, type RegistryOption } from '../../codec/index.js';
import { combineChecks, Health, registryCheck } from '../../health/index.js';
import { addBootstrapServerOption, addRegistryOption, bootstrapServerOf, registryOf, parsePositiveInt, type BootstrapFlags } from '../args.js';
import { addHealthServerOptions, serveHealth, type HealthServerFlags } from '../health.js';

function parseVersions(value: string): SchemaVersion[] {
  const list = value.split(',').map((v) => v.trim()).filter(Boolean);
  const bad = list.find((v) => !isSchemaVersion(v));
  if (bad !== undefined || list.length === 0) throw new InvalidArgumentError(`schema versions are a comma-separated list of 1.0.0, 1.1.0, 1.2.0, 1.3.0, 2.0.0${bad ? `; "${bad}" is not one` : ''}`);
  return [...new Set(list)] as SchemaVersion[];
}

function parseEventTypes(value: string): OnexEventType[] {
  const list = value.split(',').map((v) => v.trim().toUpperCase()).filter(Boolean);
  const bad = list.find((t) => !(ALL_EVENT_TYPES as readonly string[]).includes(t));
  if (bad !== undefined || list.length === 0) throw new InvalidArgumentError(`event types are a comma-separated list of ${ALL_EVENT_TYPES.join(', ')}${bad ? `; "${bad}" is not one` : ''}`);
  return list as OnexEventType[];
}

function parseRate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of events per second above 0');
  return n;
}

function parseSampleRate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('a sampling rate is a number from 0 to 1');
  return n;
}

interface ProduceOptions extends BootstrapFlags, HealthServerFlags {
  topic: string;
  count: number;
  rate?: number;
  size?: number;
  versions: SchemaVersion[];
  eventTypes?: OnexEventType[];
  registry?: string;
  partitions: number;
  replicationFactor?: number;
  minInsyncReplicas?: number;
  sampleRate?: number;
  seed: number;
}

export interface ProduceSummary {
  sent: number;
  sampled_out: number;
  rejected: number;
  /** Encoded bytes of the sent events (record values, keys and headers). */
  bytes: number;
  seconds: number;
  events_per_second: number;
}

/** Outstanding emits at most: enough to keep batches full, bounded so memory is too. */
const WINDOW = 20_000;

/**
 * `onex produce`: a load generator of valid synthetic ONEX events (every event type, realistic metadata, flows that
 * share correlation ids) through OnexProducer. Prints one JSON summary line on stdout.
 *
 * Long-running use (a demo producer in compose, `--count` large with `--rate`): `--metrics-port` serves the
 * producers' /metrics with /healthz and /readyz, like `onex worker`; the first SIGTERM / SIGINT stops emitting,
 * waits for what is in flight and prints the summary (exit 0).
 */
export function registerProduceCommands(program: Command): void {
  const produceCmd = program
    .command('produce')
    .description('produce synthetic ONEX events through the producer SDK and print a JSON summary line')
    .option('--topic <name>', 'topic to write to (created with --partitions when missing)', 'onex.events')
    .option('--count <n>', 'events to emit', parsePositiveInt, 10_000)
    .option('--rate <events/s>', 'emit at most this many events per second (default: as fast as Kafka takes them)', parseRate)
    .option('--size <bytes>', 'approximate encoded size of each event (metadata is padded)', parsePositiveInt)
    .addOption(
      new Option('--versions <list>', 'schema versions to write, comma separated; flows take them in turn').argParser(parseVersions).default(['1.3.0'], '1.3.0'),
    )
    .option('--event-types <list>', 'only these event types, comma separated (default: every type)', parseEventTypes)
    .option('--partitions <n>', 'partitions of the topic when it is created', parsePositiveInt, 3)
    .option('--replication-factor <n>', 'replication of the topic when it is created (default 3 on 3+ brokers, else 1)', parsePositiveInt)
    .option('--min-insync-replicas <n>', 'its min.insync.replicas (default 2 on 3+ brokers, else 1)', parsePositiveInt)
    .option('--sample-rate <rate>', 'sample every event type at this rate (failures are always kept; needs 1.2.0 or later)', parseSampleRate)
    .option('--seed <n>', 'seed of the synthetic events', parsePositiveInt, 1);
  addRegistryOption(produceCmd, 'an embedded registry stored in Kafka');
  addHealthServerOptions(addBootstrapServerOption(produceCmd))
    .action(async (opts: ProduceOptions) => {
      const summary = await produce(opts);
      process.stdout.write(`${JSON.stringify(summary.summary)}\n`);
      if (summary.firstError) {
        const e = summary.firstError;
        process.stderr.write(`${e.code}: ${summary.summary.rejected} of ${opts.count} events were rejected; the first: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}

async function produce(opts: ProduceOptions): Promise<{ summary: ProduceSummary; firstError: OnexError | undefined }> {
  const config = kafkaConfigFromEnv(process.env, { brokers: bootstrapServerOf(opts, {}), clientId: 'onex-produce' });
  if (opts.sampleRate !== undefined && opts.sampleRate < 1 && opts.versions.some((v) => !versionAtLeast(v, '1.2.0'))) {
    throw onexError('ONEX_CLI_300', `--sample-rate needs versions that record the rate (1.2.0 or later); --versions has ${opts.versions.join(', ')}`);
  }
  // Ask once, quickly, before kafkajs's start-up retries (a minute with the default backoff) for a cluster that is not
  // there. brokerAnswers speaks plaintext only, so a TLS or SASL cluster goes straight to the configured client.
  if (!config.ssl && !config.sasl && !(await brokerAnswers(config.brokers[0]!, 5_000))) {
    throw onexError('ONEX_EVENT_600', `Kafka at ${config.brokers.join(',')} does not answer; start it (onex kafka start) or point --bootstrap-server / KAFKA_BROKERS at a running cluster`);
  }
  // Stop asked for (SIGTERM / SIGINT): no more emits; what is in flight is delivered, the summary printed.
  let stopAsked = false;
  let wakeSleep: (() => void) | undefined;
  const stop = () => {
    stopAsked = true;
    wakeSleep?.();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Not ready until the topic exists, the registry is known and every producer has started (both replaced below).
  const notYet = () => ({ ok: false, detail: 'not started' });
  const health = new Health().add('producer', notYet).add('registry', notYet);
  const healthServer = await serveHealth(opts, health);
  try {
    return await produceWith(opts, config, health, () => stopAsked, (wake) => (wakeSleep = wake));
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    await healthServer?.close();
  }
}

async function produceWith(
  opts: ProduceOptions,
  config: ReturnType<typeof kafkaConfigFromEnv>,
  health: Health,
  stopped: () => boolean,
  onSleep: (wake: (() => void) | undefined) => void,
): Promise<{ summary: ProduceSummary; firstError: OnexError | undefined }> {
  const kafka = createKafka(config);
  const admin = kafka.admin();
  try {
    await admin.connect();
    await ensureTopics(admin, [{ topic: opts.topic, partitions: opts.partitions, ...checkReplication(opts, 'produce') }]);
  } catch (err) {
    throw isOnexError(err)
      ? err
      : (transportFailure(err, config.brokers.join(',')) ?? onexError('ONEX_EVENT_600', `Kafka at ${config.brokers.join(',')} does not answer: ${(err as Error).message}`, { cause: err }));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }

  let embedded: RunningRegistry | undefined;
  const external = registryFromEnv(process.env, registryOf(opts));
  let registry: RegistryOption;
  if (external) {
    registry = external;
    health.add('registry', registryCheck(external));
  } else {
    embedded = await startRegistry({ port: 0, host: '127.0.0.1', store: { kind: 'kafka', brokers: config.brokers } });
    registry = embedded.url;
    health.add('registry', registryCheck({ url: embedded.url }));
  }

  const producers = new Map<SchemaVersion, OnexProducer>();
  try {
    for (const version of opts.versions) {
      const sampling = opts.sampleRate === undefined ? undefined : { defaultRate: opts.sampleRate };
      producers.set(version, new OnexProducer({ kafka: config, registry, topic: opts.topic, schemaVersion: version, sampling }));
    }
    // Ready: every producer has registered its writer schema and connected to Kafka, and the registry answers.
    health.add('producer', () => combineChecks(Object.fromEntries([...producers].map(([v, p]) => [v, p.readiness().running]))));
    await Promise.all([...producers.values()].map((p) => p.start()));
    const synthetic = new SyntheticEvents({ versions: opts.versions, eventTypes: opts.eventTypes, sizeBytes: opts.size, seed: opts.seed });

    let sent = 0;
    let sampledOut = 0;
    let rejected = 0;
    let bytes = 0;
    let firstError: OnexError | undefined;
    let outstanding = 0;
    let wake: (() => void) | undefined;
    const settle = () => {
      outstanding--;
      if (wake && outstanding < WINDOW / 2) {
        const w = wake;
        wake = undefined;
        w();
      }
    };
    const onResult = (r: EmitResult) => {
      if (r.status === 'sent') {
        sent++;
        bytes += r.bytes;
      } else sampledOut++;
      settle();
    };
    const onError = (err: unknown) => {
      rejected++;
      firstError ??= isOnexError(err) ? err : onexError('ONEX_SYS_904', String(err));
      settle();
    };

    const t0 = performance.now();
    for (let i = 0; i < opts.count && !stopped(); i++) {
      if (opts.rate !== undefined) {
        const due = t0 + (i / opts.rate) * 1000;
        const wait = due - performance.now();
        if (wait > 1) {
          await new Promise<void>((r) => {
            const timer = setTimeout(r, wait);
            onSleep(() => {
              clearTimeout(timer);
              r();
            });
          });
          onSleep(undefined);
          if (stopped()) break;
        }
      }
      if (outstanding >= WINDOW) await new Promise<void>((r) => (wake = r));
      const { event, version } = synthetic.next();
      outstanding++;
      producers.get(version)!.emit(event).then(onResult, onError);
    }
    await Promise.all([...producers.values()].map((p) => p.close()));
    while (outstanding > 0) await new Promise((r) => setImmediate(r));
    const seconds = (performance.now() - t0) / 1000;
    return {
      summary: {
        sent,
        sampled_out: sampledOut,
        rejected,
        bytes,
        seconds: Math.round(seconds * 1000) / 1000,
        events_per_second: Math.round((sent + sampledOut) / seconds),
      },
      firstError,
    };
  } finally {
    await Promise.all([...producers.values()].map((p) => p.close().catch(() => undefined)));
    await embedded?.close();
  }
}
