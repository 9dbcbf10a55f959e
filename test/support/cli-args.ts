import type { Command, Option } from 'commander';
import { buildProgram } from '../../src/cli/main.js';

/**
 * Checks an `onex` argument list written in a deployment file (a container's args, a compose command) against the
 * real command tree, without running anything: the subcommands exist, every flag is one the command declares,
 * flags that take a value get one and it passes the option's own parser and choices, and every mandatory option
 * is given. Returns one line per problem (empty: commander would accept it). Environment defaults count as given,
 * as they do for commander, when `env` names them.
 */
export function onexArgsProblems(args: readonly string[], env: Readonly<Record<string, string>> = {}): string[] {
  let cmd: Command = buildProgram();
  let i = 0;
  while (i < args.length && !args[i]!.startsWith('-')) {
    const sub = cmd.commands.find((c) => c.name() === args[i] || c.aliases().includes(args[i]!));
    if (!sub) return [`onex ${args.slice(0, i + 1).join(' ')}: no such command`];
    cmd = sub;
    i++;
  }
  const where = `onex ${args.slice(0, i).join(' ')}`;
  const problems: string[] = [];
  const given = new Set<Option>();
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) {
      if (cmd.registeredArguments.length === 0) problems.push(`${where}: unexpected argument ${arg}`);
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const option = cmd.options.find((o) => o.long === flag || o.short === flag);
    if (!option) {
      problems.push(`${where}: unknown option ${flag}`);
      continue;
    }
    given.add(option);
    if (!option.required && !option.optional) continue;
    const value = inline ?? args[i + 1];
    if (inline === undefined) {
      if (value === undefined || value.startsWith('-')) {
        if (option.required) problems.push(`${where}: ${flag} needs a value`);
        continue;
      }
      i++;
    }
    if (option.argChoices && !option.argChoices.includes(value!)) problems.push(`${where}: ${flag} ${value} is not one of ${option.argChoices.join(', ')}`);
    const parse = (option as Option & { parseArg?: (value: string, previous: unknown) => unknown }).parseArg;
    if (parse) {
      try {
        parse(value!, option.defaultValue);
      } catch (err) {
        problems.push(`${where}: ${flag} ${value}: ${(err as Error).message}`);
      }
    }
  }
  for (const option of cmd.options) {
    if (option.mandatory && !given.has(option) && !(option.envVar && env[option.envVar] !== undefined)) problems.push(`${where}: ${option.long} is required`);
  }
  return problems;
}
