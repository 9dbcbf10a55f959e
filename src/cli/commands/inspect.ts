import { InvalidArgumentError, type Command } from 'commander';
import { onexError } from '../../errors/index.js';
import { flags } from '../../flags/index.js';
import { INSPECT_DEFAULTS, startInspectServer } from '../../inspect/index.js';
import { CORRELATIONS_GROUP } from '../../processors/correlation/index.js';
import { addConnectionOptions, decoderFrom, kafkaFrom, type ConnectionFlags } from './consume.js';

const parsePort = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('expected a port number (0-65535; 0 picks a free one)');
  return n;
};

/** `onex inspect serve`: the inspect page and API (docs/inspect.md) until SIGINT/SIGTERM. */
export function registerInspectCommands(program: Command): void {
  const inspect = program.command('inspect').description('look at flows: an HTTP API and a page drawing a flow as a waterfall');
  addConnectionOptions(
    inspect
      .command('serve')
      .description('serve /healthz, /readyz, /metrics, /api/correlations/{id}, /api/traces/{id}, /api/replays and the waterfall page /flows/{id}')
      .option('--host <host>', 'address to listen on', INSPECT_DEFAULTS.host)
      .option('--port <port>', 'port (0 picks a free one)', parsePort, INSPECT_DEFAULTS.port)
      .option('--topic <topic>', 'topic the events are in', INSPECT_DEFAULTS.topic)
      .option('--index-topic <topic>', 'the correlation index', INSPECT_DEFAULTS.indexTopic)
      .option('--index-group <group>', "the index processor's group: what it has not indexed yet is read too", CORRELATIONS_GROUP)
      .option('--replay-topic <topic>', 'where replays started from the page go (default <topic>.replay)'),
  ).action(async (opts: ConnectionFlags & { host: string; port: number; topic: string; indexTopic: string; indexGroup: string; replayTopic?: string }) => {
    if (!flags.isEnabled('onex.inspect.enabled')) throw onexError('ONEX_CLI_303', 'the inspect server is switched off by the feature flag onex.inspect.enabled');
    const server = await startInspectServer({
      kafka: kafkaFrom(opts), decoder: decoderFrom(opts), topic: opts.topic, indexTopic: opts.indexTopic, indexGroup: opts.indexGroup, replayTopic: opts.replayTopic, host: opts.host, port: opts.port,
    });
    process.stdout.write(`inspect serving on ${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}
