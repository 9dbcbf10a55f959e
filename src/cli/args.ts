import { InvalidArgumentError, Option, type Command } from 'commander';

/** What the Kafka connection flags leave in a command's options. */
export interface BootstrapFlags {
  bootstrapServer?: string;
  /** Older spellings, kept so that existing command lines keep working. */
  brokers?: string;
  kafka?: string;
}

/**
 * The one Kafka flag of every command that talks to Kafka: `-b, --bootstrap-server`, as Kafka's own tools call it,
 * with the older `--brokers` and `--kafka` accepted (hidden from help). `conflicts` names options it cannot go with.
 */
export function addBootstrapServerOption(cmd: Command, conflicts: string[] = []): Command {
  const with_ = (o: Option) => (conflicts.length > 0 ? o.conflicts(conflicts) : o);
  return cmd
    .addOption(with_(new Option('-b, --bootstrap-server <list>', 'Kafka bootstrap servers, comma separated (default: KAFKA_BROKERS)')))
    .addOption(with_(new Option('--brokers <list>', 'the same as --bootstrap-server').hideHelp()))
    .addOption(with_(new Option('--kafka <list>', 'the same as --bootstrap-server').hideHelp()));
}

/** The bootstrap servers a command line named (any of the spellings), else KAFKA_BROKERS, else undefined. */
export function bootstrapServerOf(flags: BootstrapFlags, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flags.bootstrapServer ?? flags.brokers ?? flags.kafka ?? env.KAFKA_BROKERS;
}

/** What the registry flag leaves in a command's options. */
export interface RegistryFlags {
  registry?: string;
}

/**
 * The one registry flag of every command that talks to the schema registry: `--registry <url>`, falling back to
 * SCHEMA_REGISTRY_URL. `fallback` says what the command does when neither is given (default: it needs one).
 */
export function addRegistryOption(cmd: Command, fallback?: string): Command {
  return cmd.option('--registry <url>', `schema registry URL (default: SCHEMA_REGISTRY_URL${fallback ? `, else ${fallback}` : ''}; basic auth user:password from SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO)`);
}

/** The registry URL a command line named, else SCHEMA_REGISTRY_URL, else undefined. */
export function registryOf(flags: RegistryFlags, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flags.registry ?? env.SCHEMA_REGISTRY_URL;
}

/** A commander argument parser for whole numbers from min to max; `explain` is the sentence a bad value gets. */
export function wholeNumberIn(min: number, max: number, explain: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(explain);
    return n;
  };
}

/** A port to connect to or to require. */
export const parsePort = wholeNumberIn(1, 65535, 'a port is a whole number from 1 to 65535');
/** A port to listen on, where 0 asks for any free port. */
export const parseListenPort = wholeNumberIn(0, 65535, 'a port is a whole number from 0 (any free port) to 65535');
export const parsePositiveInt = wholeNumberIn(1, Number.MAX_SAFE_INTEGER, 'expected a whole number above 0');
/** A fraction above 0 and at most 1 (a share of calls measured). */
export function parseFraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError('expected a fraction above 0 and at most 1, e.g. 0.1');
  return n;
}
export const parseCount = wholeNumberIn(0, Number.MAX_SAFE_INTEGER, 'expected a whole number, 0 or more');
