import { Command, Option } from 'commander';
import { registryFromEnv, type OnexEventCodec } from '../../codec/index.js';
import type { SchemaVersion } from '../../event/index.js';
import type { Kafka } from 'kafkajs';
import { ensureTopics } from '../../kafka/index.js';
import { OnexProducer } from '../../producer/index.js';
import { startProfiler } from '../../telemetry/index.js';
import { createWorker, loadHandlerModule } from '../../worker/index.js';
import { Health, registryCheck } from '../../health/index.js';
import { parseFraction, parsePositiveInt, registryOf } from '../args.js';
import { addHealthServerOptions, serveHealth, type HealthServerFlags } from '../health.js';
import { addSecurityOptions, securityFrom, type SecurityFlags } from '../security.js';
import { addOtlpOption } from '../tracing.js';
import { addConnectionOptions, decoderFrom, kafkaFrom, parseSchemaVersion, runUntilStopped, type ConnectionFlags } from './consume.js';

interface WorkerCliOptions extends ConnectionFlags, HealthServerFlags, SecurityFlags {
  topic: string[];
  group: string;
  handlers: string;
  targetVersion?: SchemaVersion;
  concurrency: number;
  fromBeginning?: boolean;
  dlqTopic?: string;
  maxAttempts: number;
  validation: 'strict' | 'non-strict' | 'off';
  deprecated?: SchemaVersion[];
  sessionTimeout: number;
  profileTopic?: string;
  profileWindow: number;
  profileSampleRate: number;
}

/**
 * `--profile-topic`: the process's profiler (src/telemetry/profiler.ts) measures every handler call (`handle
 * <event_type>`) and the profile producer's own sends, and emits one 1.3.0 PERFORMANCE_PROFILE per operation and window
 * to the topic (created with one partition when missing). Returns what stops it: the last window is emitted before
 * the producer closes.
 */
async function startProfiling(kafka: Kafka, codec: OnexEventCodec, opts: WorkerCliOptions, topic: string): Promise<() => Promise<void>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [{ topic, partitions: 1 }]);
  } finally {
    await admin.disconnect();
  }
  const producer = new OnexProducer({ kafka, topic, schemaVersion: '1.3.0', codec, sampling: { enabled: false } });
  await producer.start();
  const profiler = startProfiler({ emit: (e) => producer.emit(e), nodeId: `onex_worker-${process.pid}`, windowMs: opts.profileWindow, sampleRate: opts.profileSampleRate });
  process.stderr.write(`profiling to ${topic} every ${profiler.windowMs / 1000} s as node onex_worker-${process.pid} (watch it with: onex profile --topic ${topic})\n`);
  return async () => {
    await profiler.close();
    await producer.close();
  };
}

function collect<T>(parse: (v: string) => T) {
  return (value: string, previous: T[] = []) => [...previous, ...value.split(',').filter(Boolean).map((v) => parse(v.trim()))];
}

/** `onex worker`: a stream worker running the handlers of a module until SIGTERM / SIGINT. */
export function registerWorkerCommands(program: Command): void {
  const cmd = addConnectionOptions(
    addOtlpOption(program.command('worker'), 'onex-worker')
      .description('run the handlers of a module on a topic: decode, upcast, validate, handle, retry, dead-letter')
      .requiredOption('--topic <topic>', 'topic to consume (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
      .requiredOption('--group <group>', 'consumer group; workers of one group share the partitions')
      .requiredOption('--handlers <module>', "handler module: exports `handlers` ({ EVENT_TYPE: fn, '*': fn }) or a default function")
      .addOption(new Option('--target-version <version>', 'schema version the handlers receive (default: the module\'s targetVersion, else the latest)').argParser(parseSchemaVersion))
      .option('--concurrency <n>', 'partitions handled at the same time', parsePositiveInt, 4)
      .option('--from-beginning', 'a group without committed offsets starts at the beginning (default: the end)')
      .option('--dlq-topic <topic>', 'dead-letter topic (default: <topic>.dlq)')
      .option('--max-attempts <n>', 'attempts per record for retriable failures, the first included', parsePositiveInt, 3)
      .addOption(new Option('--validation <mode>', 'what an invalid event is').choices(['strict', 'non-strict', 'off']).default('strict'))
      .option('--deprecated <versions>', 'writer versions to count and warn about (comma separated)', collect(parseSchemaVersion))
      .option('--session-timeout <ms>', 'a member silent this long leaves the group (its partitions move on)', parsePositiveInt, 30_000)
      .option('--profile-topic <topic>', 'profile the handlers and emit PERFORMANCE_PROFILE events (1.3.0) to this topic, one per operation and window (see onex profile)')
      .option('--profile-window <ms>', 'profiling window', parsePositiveInt, 10_000)
      .option('--profile-sample-rate <fraction>', 'share of calls the profiler measures (counts are scaled back)', parseFraction, 1),
  );
  addHealthServerOptions(addSecurityOptions(cmd)).action(async (opts: WorkerCliOptions) => {
    const security = securityFrom(opts)?.record;
    const kafka = kafkaFrom(opts);
    const decoder = decoderFrom(opts);
    const mod = await loadHandlerModule(opts.handlers);
    const worker = createWorker({
      kafka,
      groupId: opts.group,
      topics: opts.topic,
      decoder,
      handlers: mod.handlers,
      ...(opts.targetVersion ?? mod.targetVersion ? { targetVersion: opts.targetVersion ?? mod.targetVersion } : {}),
      concurrency: opts.concurrency,
      fromBeginning: opts.fromBeginning ?? false,
      validation: opts.validation,
      retry: { maxAttempts: opts.maxAttempts },
      ...(opts.dlqTopic ? { deadLetter: { topic: opts.dlqTopic } } : {}),
      deprecatedVersions: opts.deprecated ?? [],
      ...(security ? { security } : {}),
      consumer: { sessionTimeoutMs: opts.sessionTimeout, heartbeatIntervalMs: Math.min(3_000, Math.floor(opts.sessionTimeout / 3)) },
    });
    // Ready: connected, in the group with partitions assigned, the registry answering, not draining.
    const health = new Health().addAll('worker', () => worker.readiness()).add('registry', registryCheck(registryFromEnv(process.env, registryOf(opts))!));
    const metricsServer = await serveHealth(opts, health);
    const stopProfiling = opts.profileTopic ? await startProfiling(kafka, decoder as OnexEventCodec, opts, opts.profileTopic) : undefined;
    try {
      await runUntilStopped(worker, () => {
        const parts = Object.entries(worker.assignment()).map(([t, ps]) => `${t}[${ps.join(',')}]`).join(' ');
        process.stderr.write(`worker ready: group ${opts.group}, target ${worker.targetVersion}, partitions ${parts || 'none yet'}\n`);
      });
    } finally {
      await metricsServer?.close();
      await stopProfiling?.();
    }
    const s = worker.stats();
    process.stderr.write(`worker stopped: ${s.handled} handled, ${s.unhandled} without a handler, ${s.deadLettered} dead-lettered\n`);
  });
}
