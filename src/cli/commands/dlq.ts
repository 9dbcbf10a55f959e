import { Command } from 'commander';
import { redriveDeadLetters } from '../../worker/index.js';
import { addBootstrapServerOption, parsePositiveInt, type BootstrapFlags } from '../args.js';
import { kafkaFrom } from './consume.js';

interface RedriveCliOptions extends BootstrapFlags {
  topic: string;
  to?: string;
  group?: string;
  code?: string[];
  max?: number;
  maxRedrives: number;
  dryRun?: boolean;
}

/** `onex dlq redrive`: dead letters back to their source topic once their cause is fixed. */
export function registerDlqCommands(program: Command): void {
  const dlq = program.command('dlq').description('the dead-letter topic of the stream workers');
  const redrive = dlq
    .command('redrive')
    .description('re-publish dead letters (original key, value, headers) to their source topic, where workers decode and upcast them again')
    .requiredOption('--topic <topic>', 'the dead-letter topic, e.g. onex.events.dlq')
    .option('--to <topic>', 'publish to this topic instead of each letter\'s source topic')
    .option('--group <group>', 'consumer group that remembers how far redrive got (default: onex-dlq-redrive, one per --code filter)')
    .option('--code <code>', 'only letters with this ONEX error code (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--max <n>', 'stop after this many letters', parsePositiveInt)
    .option('--max-redrives <n>', 'skip letters already redriven this often', parsePositiveInt, 5)
    .option('--dry-run', 'list what would be redriven; publish and commit nothing');
  addBootstrapServerOption(redrive)
    .action(async (opts: RedriveCliOptions) => {
      const result = await redriveDeadLetters({
        kafka: kafkaFrom(opts),
        deadLetterTopic: opts.topic,
        ...(opts.group ? { groupId: opts.group } : {}),
        ...(opts.to ? { toTopic: opts.to } : {}),
        ...(opts.code ? { codes: opts.code } : {}),
        ...(opts.max ? { max: opts.max } : {}),
        maxRedrives: opts.maxRedrives,
        dryRun: opts.dryRun ?? false,
        onLetter: (l) => process.stdout.write(`${JSON.stringify(l)}\n`),
      });
      const codes = Object.entries(result.byCode).map(([c, n]) => `${c} ${n}`).join(', ');
      process.stderr.write(`${opts.dryRun ? 'would redrive' : 'redrove'} ${result.redriven} letter(s)${codes ? ` (${codes})` : ''}, skipped ${result.skipped}\n`);
    });
}
