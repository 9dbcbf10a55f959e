/**
 * docs/cli.md, rendered from the program itself (buildProgram), so that the reference cannot drift from the flags:
 * every command with its arguments, flags, defaults and the environment variables its help text names.
 * `npm run docs:cli` writes it; test/unit/cli/docs.test.ts fails when the page is stale.
 */
import type { Command, Option } from 'commander';

const ENV = /\b(KAFKA_[A-Z_]+|SCHEMA_REGISTRY_[A-Z_]+|ONEX_[A-Z_]+|OTEL_[A-Z_]+)\b/g;

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function defaultOf(o: Option): string {
  if (o.defaultValueDescription) return o.defaultValueDescription;
  if (o.defaultValue === undefined) return '';
  return typeof o.defaultValue === 'string' ? o.defaultValue : JSON.stringify(o.defaultValue);
}

function section(cmd: Command, path: string): string[] {
  const lines = [`## onex ${path}`, '', cmd.description(), ''];
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(' ');
  lines.push('```', `onex ${path}${args ? ` ${args}` : ''}${cmd.options.length ? ' [options]' : ''}`, '```', '');
  const visible = cmd.options.filter((o) => !o.hidden);
  if (visible.length > 0) {
    lines.push('| flag | default | environment | meaning |', '|---|---|---|---|');
    for (const o of visible) {
      const env = [...new Set(o.description.match(ENV) ?? [])].join(', ');
      const choices = o.argChoices ? ` (one of ${o.argChoices.join(', ')})` : '';
      lines.push(`| \`${cell(o.flags)}\` | ${cell(defaultOf(o))} | ${env} | ${cell(o.description)}${choices} |`);
    }
    lines.push('');
  }
  const aliases = cmd.options.filter((o) => o.hidden).map((o) => `\`${o.long}\``);
  if (aliases.length > 0) lines.push(`Also accepted, for older command lines: ${aliases.join(', ')}.`, '');
  return lines;
}

function walk(cmd: Command, prefix: string, out: string[]): void {
  for (const sub of cmd.commands) {
    const path = `${prefix}${sub.name()}`;
    if (sub.commands.length === 0 || sub.options.length > 0) out.push(...section(sub, path));
    walk(sub, `${path} `, out);
  }
}

export function renderCliMarkdown(program: Command): string {
  const out = [
    '# The onex command line',
    '',
    'Generated from the program by `npm run docs:cli`; a unit test fails when this page and the code disagree.',
    'Every command that talks to Kafka takes `-b` / `--bootstrap-server` (Kafka\'s own spelling) and falls back to',
    '`KAFKA_BROKERS`; every command that talks to the schema registry takes `--registry` and falls back to',
    '`SCHEMA_REGISTRY_URL`. Errors are one line starting with an ONEX code ([errors.md](errors.md)).',
    '',
  ];
  walk(program, '', out);
  return `${out.join('\n').trimEnd()}\n`;
}
