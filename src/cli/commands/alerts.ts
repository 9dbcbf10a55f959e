import type { Command } from 'commander';
import { checkRules, formatProblem, readRuleFile } from '../../processors/alerting/index.js';

/** `onex alerts check rules.yaml`: lists every mistake of a rule file as an ONEX line and exits 1 if there is one. */
export function registerAlertsCommands(program: Command): void {
  const alerts = program.command('alerts').description('event-pattern alert rules: check a rule file');
  alerts
    .command('check <file>')
    .description('check a rule file: YAML shape, durations, CEL expressions, templates; one ONEX line per mistake')
    .action((file: string) => {
      const { rules, problems } = checkRules(readRuleFile(file), file);
      for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
      if (problems.length > 0) {
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${file}: ${rules.length} rule${rules.length === 1 ? '' : 's'} ok\n`);
    });
}
