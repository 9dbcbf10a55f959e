import { Command, InvalidArgumentError, Option } from 'commander';
import { OnexEventCodec, registryFromEnv, resolveRegistryOption } from '../../codec/index.js';
import { isSchemaVersion, LATEST_VERSION, onexError, SCHEMA_VERSIONS, type SchemaVersion } from '../../event/index.js';
import { createKafka, kafkaConfigFromEnv } from '../../kafka/index.js';
import { createWorker, type EventDecoder, type Worker } from '../../worker/index.js';
import { addBootstrapServerOption, addRegistryOption, bootstrapServerOf, parsePositiveInt, registryOf, type BootstrapFlags, type RegistryFlags } from '../args.js';

/** Flags and environment shared by `onex consume`, `onex worker` and `onex dlq`. */
export interface ConnectionFlags extends BootstrapFlags, RegistryFlags {}

export function parseSchemaVersion(value: string): SchemaVersion {
  if (!isSchemaVersion(value)) throw new InvalidArgumentError(`expected one of ${SCHEMA_VERSIONS.join(', ')}`);
  return value;
}

export function addConnectionOptions(cmd: Command): Command {
  return addRegistryOption(addBootstrapServerOption(cmd));
}

export function kafkaFrom(flags: ConnectionFlags) {
  const brokers = bootstrapServerOf(flags);
  if (!brokers) throw onexError('ONEX_CLI_301', 'say where Kafka is: --bootstrap-server host:port or KAFKA_BROKERS');
  return createKafka(kafkaConfigFromEnv(process.env, { brokers }));
}

/** The codec the worker decodes with: writer schemas by id from the registry, cached. */
export function decoderFrom(flags: ConnectionFlags): EventDecoder {
  const registry = registryFromEnv(process.env, registryOf(flags));
  if (!registry) throw onexError('ONEX_CLI_301', 'say where the schema registry is: --registry URL or SCHEMA_REGISTRY_URL');
  return new OnexEventCodec({ registry: resolveRegistryOption(registry, 'onex') });
}

/** Resolves when the worker stops; SIGINT/SIGTERM stop it cleanly (drain, commit, leave the group). */
export async function runUntilStopped(worker: Worker, onJoined?: () => void): Promise<void> {
  const removeSignals = worker.handleSignals();
  try {
    await worker.start();
    void worker.joined().then(onJoined);
    await worker.done;
  } finally {
    removeSignals();
  }
}

interface ConsumeOptions extends ConnectionFlags {
  topic: string;
  group: string;
  targetVersion: SchemaVersion;
  max?: number;
  fromBeginning?: boolean;
  timeout?: number;
}

/**
 * `onex consume`: decoded events, upcast (or downcast) to the target version, as JSON lines on stdout, like Confluent's
 * kafka-avro-console-consumer. Records that fail are reported on stderr as `ONEX_X_NNN: ...` and skipped (no
 * dead-letter topic: this is a look, not a worker).
 */
export function registerConsumeCommands(program: Command): void {
  addConnectionOptions(
    program
      .command('consume')
      .description('print decoded events, upcast to the target version, as JSON lines')
      .requiredOption('--topic <topic>', 'topic to read')
      .requiredOption('--group <group>', 'consumer group (its committed offsets say where to start)')
      .addOption(new Option('--target-version <version>', 'schema version to print the events in').argParser(parseSchemaVersion).default(LATEST_VERSION))
      .option('--max <n>', 'exit after printing this many events', parsePositiveInt)
      .option('--from-beginning', 'a group without committed offsets starts at the beginning (default: the end)')
      .option('--timeout <ms>', 'exit when no record arrived for this long', parsePositiveInt),
  ).action(async (opts: ConsumeOptions) => {
    const kafka = kafkaFrom(opts);
    const decoder = decoderFrom(opts);
    let printed = 0;
    let idle: NodeJS.Timeout | undefined;
    let worker: Worker | undefined;
    const armIdle = () => {
      if (opts.timeout === undefined) return;
      clearTimeout(idle);
      idle = setTimeout(() => void worker?.stop(), opts.timeout);
    };
    worker = createWorker({
      kafka,
      groupId: opts.group,
      topics: opts.topic,
      decoder,
      targetVersion: opts.targetVersion,
      fromBeginning: opts.fromBeginning ?? false,
      // One partition at a time: --max counts exactly and the output of a partition is never interleaved.
      concurrency: 1,
      validation: 'off',
      retry: { maxAttempts: 3 },
      deadLetter: false,
      handlers: {
        '*': (event) => {
          if (opts.max !== undefined && printed >= opts.max) return;
          process.stdout.write(`${JSON.stringify(event)}\n`);
          printed++;
          armIdle();
          if (opts.max !== undefined && printed >= opts.max) void worker!.stop();
        },
      },
      onFailure: (f) => {
        process.stderr.write(`${f.error.code}: ${f.error.message} (${f.record.topic}[${f.record.partition}]@${f.record.offset}, skipped)\n`);
        armIdle();
      },
    });
    // `onex consume ... | head -5`: the reader went away; stop as the console consumers do, without a stack trace.
    const onStdoutError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') void worker?.stop();
      else throw err;
    };
    process.stdout.on('error', onStdoutError);
    try {
      await runUntilStopped(worker, armIdle);
    } finally {
      process.stdout.off('error', onStdoutError);
    }
    clearTimeout(idle);
  });
}
