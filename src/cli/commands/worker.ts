import { createServer, type Server } from 'node:http';
import { Command, Option } from 'commander';
import client from 'prom-client';
import type { SchemaVersion } from '../../event/index.js';
import { createWorker, loadHandlerModule } from '../../worker/index.js';
import { parsePort, parsePositiveInt } from '../args.js';
import { addOtlpOption } from '../tracing.js';
import { addConnectionOptions, decoderFrom, kafkaFrom, parseSchemaVersion, runUntilStopped, type ConnectionFlags } from './consume.js';

interface WorkerCliOptions extends ConnectionFlags {
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
  metricsPort?: number;
  sessionTimeout: number;
}

function collect<T>(parse: (v: string) => T) {
  return (value: string, previous: T[] = []) => [...previous, ...value.split(',').filter(Boolean).map((v) => parse(v.trim()))];
}

function serveMetrics(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    client.register.metrics().then(
      (text) => res.writeHead(200, { 'content-type': client.register.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** `onex worker`: a stream worker running the handlers of a module until SIGTERM / SIGINT. */
export function registerWorkerCommands(program: Command): void {
  addConnectionOptions(
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
      .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:PORT/metrics', parsePort)
      .option('--session-timeout <ms>', 'a member silent this long leaves the group (its partitions move on)', parsePositiveInt, 30_000),
  ).action(async (opts: WorkerCliOptions) => {
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
      consumer: { sessionTimeoutMs: opts.sessionTimeout, heartbeatIntervalMs: Math.min(3_000, Math.floor(opts.sessionTimeout / 3)) },
    });
    const metricsServer = opts.metricsPort ? await serveMetrics(opts.metricsPort) : undefined;
    try {
      await runUntilStopped(worker, () => {
        const parts = Object.entries(worker.assignment()).map(([t, ps]) => `${t}[${ps.join(',')}]`).join(' ');
        process.stderr.write(`worker ready: group ${opts.group}, target ${worker.targetVersion}, partitions ${parts || 'none yet'}\n`);
      });
    } finally {
      metricsServer?.close();
    }
    const s = worker.stats();
    process.stderr.write(`worker stopped: ${s.handled} handled, ${s.unhandled} without a handler, ${s.deadLettered} dead-lettered\n`);
  });
}
