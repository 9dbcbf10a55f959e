#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isOnexError, onexError, type OnexError } from '../errors/index.js';
import { registerAlertsCommands } from './commands/alerts.js';
import { registerConsumeCommands } from './commands/consume.js';
import { registerDevCommands } from './commands/dev.js';
import { registerDlqCommands } from './commands/dlq.js';
import { registerInspectCommands } from './commands/inspect.js';
import { registerKafkaCommands } from './commands/kafka.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerProduceCommands } from './commands/produce.js';
import { registerProfileCommands } from './commands/profile.js';
import { registerRegistryCommands } from './commands/registry.js';
import { registerReplayCommands } from './commands/replay.js';
import { registerSchemaCommands } from './commands/schema.js';
import { registerTraceCommands } from './commands/trace.js';
import { registerWorkerCommands } from './commands/worker.js';
import { flushOtlpTracing } from './tracing.js';

/**
 * The `onex` command. Each command module registers itself on the program; this file only wires them together and
 * turns every failure into one line `ONEX_<C>_<NNN>: sentence` on stderr with a non-zero exit code.
 */
export function buildProgram(): Command {
  const program = new Command('onex')
    .description('ONEX events on Apache Kafka: local broker, schema registry, producer, worker, replay, schema tools')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError(false)
    // Commander's own error line is replaced by our `ONEX_CLI_3xx: ...` line in main().
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  registerKafkaCommands(program);
  registerRegistryCommands(program);
  registerProduceCommands(program);
  registerDevCommands(program);
  registerSchemaCommands(program);
  registerConsumeCommands(program);
  registerWorkerCommands(program);
  registerDlqCommands(program);
  registerAlertsCommands(program);
  registerKeysCommands(program);
  registerProfileCommands(program);
  registerReplayCommands(program);
  registerTraceCommands(program);
  registerInspectCommands(program);
  return program;
}

function fromCommander(err: CommanderError): OnexError {
  const text = err.message.replace(/^error: /, '');
  switch (err.code) {
    case 'commander.missingArgument':
    case 'commander.missingMandatoryOptionValue':
    case 'commander.optionMissingArgument':
      return onexError('ONEX_CLI_301', text);
    case 'commander.unknownCommand':
      return onexError('ONEX_CLI_302', text);
    default:
      return onexError('ONEX_CLI_300', text);
  }
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through exitOverride with code 0.
      if (err.exitCode === 0) return 0;
      const e = fromCommander(err);
      process.stderr.write(`${e.code}: ${e.message}\n`);
      return 2;
    }
    if (isOnexError(err)) {
      process.stderr.write(`${err.code}: ${err.message}\n`);
      return 1;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`ONEX_SYS_904: unexpected failure: ${e.message}\n`);
    if (process.env.ONEX_DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  } finally {
    await flushOtlpTracing();
  }
}

// True when run as `node dist/cli/main.js` or `tsx src/cli/main.ts`; bin/onex.js imports main() and calls it itself.
const invokedDirectly = process.argv[1] !== undefined && /[\\/]cli[\\/]main\.(?:ts|js)$/.test(process.argv[1]);
if (invokedDirectly) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`ONEX_SYS_904: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
