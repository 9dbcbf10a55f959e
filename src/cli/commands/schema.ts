import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { onexError } from '../../errors/index.js';
import { EVENT_TYPES } from '../../event/index.js';
import { auditSchemas, checkCompatibility, COMPATIBILITY_MODES, type CompatibilityMode, DEFAULT_CHAIN, isCompatibilityMode, knownSchema, renderMatrix, SCHEMA_VERSIONS, schemaFile } from '../../schema/index.js';

function parseMode(value: string): CompatibilityMode {
  const mode = value.toUpperCase();
  if (!isCompatibilityMode(mode)) throw new InvalidArgumentError(`use one of ${COMPATIBILITY_MODES.join(', ')}`);
  return mode;
}

function readSchemaFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw onexError('ONEX_CLI_300', `${flag} ${path} cannot be read: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}.`, { cause });
  }
}

/** `onex schema check|compat|list`: the schema tools on avro/ (the registry commands cover a running registry). */
export function registerSchemaCommands(program: Command): void {
  const schema = program.command('schema').description('the ONEX event schemas: check avro/, compare two schemas, list versions');

  schema
    .command('check')
    .description('validate every schema in avro/, their agreement with the code, and the compatibility matrix (exit 0 or 1)')
    .option('--dir <avro-dir>', 'the avro/ directory to check (default: the one shipped with onex-events)')
    .option('--json', 'print the report as JSON')
    .action((opts: { dir?: string; json?: boolean }) => {
      const audit = auditSchemas(opts.dir);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ok: audit.ok, checks: audit.checks }, null, 2)}\n`);
      } else {
        for (const check of audit.checks) {
          process.stdout.write(`${check.problems.length === 0 ? 'ok  ' : 'FAIL'}  ${check.name}\n`);
          for (const problem of check.problems) process.stdout.write(`        ${problem}\n`);
        }
        if (audit.matrix) process.stdout.write(`\nwhich readers read which writers (yes: Avro resolution; transform: the chain)\n${renderMatrix(audit.matrix.cells)}\n`);
      }
      const failed = audit.checks.filter((c) => c.problems.length > 0).length;
      if (failed > 0) throw onexError('ONEX_SCHEMA_700', `${failed} of ${audit.checks.length} schema checks failed.`);
    });

  schema
    .command('compat')
    .description('is the new schema compatible with the old one(s)? prints "compatible" or the reasons (exit 0 or 1)')
    .requiredOption('--old <files...>', 'the previous schema(s), oldest first (several for the TRANSITIVE modes)')
    .requiredOption('--new <file>', 'the new schema')
    .addOption(
      new Option('--mode <mode>', `BACKWARD: the new schema reads data of the old; FORWARD: the old reads data of the new; FULL: both (${COMPATIBILITY_MODES.join(', ')})`)
        .argParser(parseMode)
        .default('BACKWARD'),
    )
    .option('--json', 'print the result as JSON')
    .action((opts: { old: string[]; new: string; mode: CompatibilityMode; json?: boolean }) => {
      const previous = opts.old.map((f) => readSchemaFile(f, '--old'));
      const next = readSchemaFile(opts.new, '--new');
      const result = checkCompatibility(previous, next, opts.mode);
      if (opts.json) process.stdout.write(`${JSON.stringify({ mode: opts.mode, ...result }, null, 2)}\n`);
      else if (result.compatible) process.stdout.write('compatible\n');
      else for (const r of result.reasons) process.stdout.write(`${r.rule}  ${r.path}  ${r.message}\n`);
      if (!result.compatible) {
        throw onexError(
          'ONEX_SCHEMA_701',
          `${opts.new} is not ${opts.mode} compatible with ${opts.old.join(', ')} (${result.reasons.length} incompatibilit${result.reasons.length === 1 ? 'y' : 'ies'}).`,
        );
      }
    });

  schema
    .command('list')
    .description('the schema versions shipped in avro/, with their fingerprints and how each one is reached')
    .option('--json', 'print the list as JSON')
    .action((opts: { json?: boolean }) => {
      const rows = SCHEMA_VERSIONS.map((version, i) => {
        const s = knownSchema(version);
        const previous = SCHEMA_VERSIONS[i - 1];
        const step = previous ? DEFAULT_CHAIN.route(previous, version)[0]! : undefined;
        return {
          version,
          file: schemaFile(version),
          fingerprint: s.fingerprint,
          fields: ((s.json as { fields?: unknown[] }).fields ?? []).length,
          eventTypes: EVENT_TYPES[version].length,
          from: previous ? `${previous} by ${step?.transform ? 'transform (MAJOR)' : 'Avro resolution (MINOR)'}` : '',
        };
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      process.stdout.write('| version | fields | event types | fingerprint (SHA-256, canonical form) | reached from |\n|---|---|---|---|---|\n');
      for (const r of rows) process.stdout.write(`| ${r.version} | ${r.fields} | ${r.eventTypes} | ${r.fingerprint.slice(0, 16)} | ${r.from} |\n`);
    });
}
