import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { onexError } from '../../errors/index.js';
import { DEFAULT_SCHEMAS_TOPIC, startRegistry, type BasicAuthOptions } from '../../registry/index.js';
import { addBootstrapServerOption, bootstrapServerOf, parseCount, parseListenPort, parsePositiveInt, type BootstrapFlags } from '../args.js';

function parseUsers(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = value.indexOf(':');
  if (colon < 1) throw new InvalidArgumentError('a user is user:password');
  return { ...previous, [value.slice(0, colon)]: value.slice(colon + 1) };
}

interface ServeOptions extends BootstrapFlags {
  port: number;
  host: string;
  memory?: boolean;
  topic: string;
  replicationFactor?: number;
  minInsyncReplicas?: number;
  user?: Record<string, string>;
  authScope: BasicAuthOptions['scope'];
  bodyLimit: number;
  tlsCert?: string;
  tlsKey?: string;
  shutdownDelay: number;
}

/** --tls-cert / --tls-key: both or neither; the files read once here (ONEX_RT_444 when one cannot be read). */
function tlsOf(opts: ServeOptions): { cert: string; key: string } | undefined {
  if (!opts.tlsCert && !opts.tlsKey) return undefined;
  if (!opts.tlsCert || !opts.tlsKey) throw onexError('ONEX_CLI_301', 'HTTPS needs both --tls-cert <file> and --tls-key <file>');
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (cause) {
      throw onexError('ONEX_RT_444', `${flag} ${file} cannot be read`, { cause });
    }
  };
  return { cert: read('--tls-cert', opts.tlsCert), key: read('--tls-key', opts.tlsKey) };
}

/** `onex registry serve`: the Confluent-compatible schema registry server. */
export function registerRegistryCommands(program: Command): void {
  const registry = program.command('registry').description('the Confluent-compatible schema registry');

  const serve = registry
    .command('serve')
    .description('serve the Schema Registry REST API; state in a compacted Kafka topic (--bootstrap-server) or in memory (--memory)')
    .option('--port <port>', 'HTTP port (0: any free port)', parseListenPort, 8081)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--memory', 'keep the state in this process only (quick local work)'))
    .option('--topic <name>', 'the compacted topic that stores the schemas', DEFAULT_SCHEMAS_TOPIC)
    .option('--replication-factor <n>', 'replication of the schemas topic when it is created (default 3 on 3+ brokers, else 1)', parsePositiveInt)
    .option('--min-insync-replicas <n>', 'its min.insync.replicas (default 2 on 3+ brokers, else 1)', parsePositiveInt)
    .option('--user <user:password>', 'require HTTP basic auth with this user (repeatable; default: ONEX_REGISTRY_USERS)', parseUsers)
    .addOption(new Option('--auth-scope <scope>', 'which requests need credentials').choices(['all', 'writes']).default('all'))
    .option('--body-limit <bytes>', 'largest request body accepted', parsePositiveInt, 1024 * 1024)
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM, the chain after it); needs --tls-key')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--shutdown-delay <ms>', 'on SIGTERM, answer /readyz 503 but keep serving this long before closing (load balancers move off)', parseCount, 0);
  addBootstrapServerOption(serve, ['memory'])
    .action(async (opts: ServeOptions) => {
      const brokers = opts.memory ? undefined : bootstrapServerOf(opts);
      if (!opts.memory && !brokers) {
        throw onexError('ONEX_CLI_301', 'say where the schemas live: --bootstrap-server <list> (or KAFKA_BROKERS), or --memory');
      }
      let users = opts.user;
      if (!users && process.env.ONEX_REGISTRY_USERS) {
        users = process.env.ONEX_REGISTRY_USERS.split(',').reduce<Record<string, string>>((acc, u) => parseUsers(u.trim(), acc), {});
      }
      const tls = tlsOf(opts);
      const running = await startRegistry({
        ...(tls ? { tls } : {}),
        port: opts.port,
        host: opts.host,
        store: brokers ? { kind: 'kafka', brokers, topic: opts.topic, replicationFactor: opts.replicationFactor, minInsyncReplicas: opts.minInsyncReplicas } : { kind: 'memory' },
        auth: users ? { users, scope: opts.authScope } : undefined,
        bodyLimit: opts.bodyLimit,
      });
      process.stderr.write(`schema registry on ${running.url} (store: ${running.store})\n`);
      process.stdout.write(`${running.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          running.health.drain();
          setTimeout(() => void running.close().finally(resolve), opts.shutdownDelay);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
