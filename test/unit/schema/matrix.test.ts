import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerSchemaCommands } from '../../../src/cli/commands/schema.js';
import { isOnexError } from '../../../src/errors/index.js';
import { majorOf, SCHEMA_VERSIONS } from '../../../src/event/index.js';
import {
  avroDirectory,
  checkCompatibility,
  checkCompatibilityMatrix,
  computeCompatibilityMatrix,
  DECLARED_READERS,
  DEFAULT_CHAIN,
  loadSchema,
  PROTOCOL_READERS,
  renderMatrix,
  schemaFile,
} from '../../../src/schema/index.js';
import { auditSchemas } from '../../../src/schema/audit.js';

describe('compatibility matrix', () => {
  it('computed from avro/ equals the declared one', () => {
    const report = checkCompatibilityMatrix();
    expect(report.problems).toEqual([]);
    for (const cell of report.cells) expect(cell.compatible, `${cell.reader} reads ${cell.writer}`).toBe(DECLARED_READERS[cell.writer].includes(cell.reader));
  });

  it('contains the protocol table', () => {
    const cells = computeCompatibilityMatrix();
    for (const [writer, readers] of Object.entries(PROTOCOL_READERS)) {
      for (const reader of readers) expect(cells.find((c) => c.writer === writer && c.reader === reader)!.compatible).toBe(true);
    }
  });

  it('every MINOR step is BACKWARD and FORWARD compatible; 1.x is FULL_TRANSITIVE', () => {
    for (let i = 1; i < SCHEMA_VERSIONS.length; i++) {
      const [a, b] = [SCHEMA_VERSIONS[i - 1]!, SCHEMA_VERSIONS[i]!];
      if (majorOf(a) !== majorOf(b)) continue;
      expect(checkCompatibility(loadSchema(a), loadSchema(b), 'FULL'), `${a} -> ${b}`).toEqual({ compatible: true, reasons: [] });
    }
    const v1 = SCHEMA_VERSIONS.filter((v) => majorOf(v) === 1);
    expect(checkCompatibility(v1.slice(0, -1).map(loadSchema), loadSchema(v1.at(-1)!), 'FULL_TRANSITIVE').compatible).toBe(true);
  });

  it('2.0.0 breaks on the metadata alone, and the chain bridges it both ways', () => {
    for (const mode of ['BACKWARD', 'FORWARD'] as const) {
      const r = checkCompatibility(loadSchema('1.3.0'), loadSchema('2.0.0'), mode);
      expect(r.compatible).toBe(false);
      expect(new Set(r.reasons.map((x) => `${x.rule} ${x.path}`))).toEqual(new Set(['MISSING_UNION_BRANCH OnexEvent.metadata']));
    }
    expect(DEFAULT_CHAIN.route('1.3.0', '2.0.0')[0]!.transform).toBeTypeOf('function');
    expect(DEFAULT_CHAIN.route('2.0.0', '1.3.0')[0]!.transform).toBeTypeOf('function');
  });

  it('renders as a markdown table', () => {
    const table = renderMatrix(computeCompatibilityMatrix());
    expect(table.split('\n')[0]).toBe('| writer \\ reader | 1.0.0 | 1.1.0 | 1.2.0 | 1.3.0 | 2.0.0 |');
    expect(table).toContain('| 2.0.0 | transform | transform | transform | transform | yes |');
  });
});

describe('schema audit (onex schema check)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'onex-avro-'));
    cpSync(dirname(avroDirectory()), dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const failed = (root: string) => auditSchemas(root).checks.filter((c) => c.problems.length > 0);

  it('passes on the shipped avro/', () => {
    const audit = auditSchemas();
    expect(audit.checks.flatMap((c) => c.problems)).toEqual([]);
    expect(audit.ok).toBe(true);
  });

  it('fails on a schema that is not valid Avro, naming the file', () => {
    writeFileSync(join(dir, 'broken.avsc'), '{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}');
    const bad = failed(dir);
    expect(bad.map((c) => c.name)).toEqual(['every .avsc is a valid Avro schema']);
    expect(bad[0]!.problems[0]).toMatch(/^broken\.avsc: ONEX_SCHEMA_700: /);
  });

  it('fails when a MINOR step breaks compatibility', () => {
    const file = join(dir, 'onex-event', 'v1.2.0.avsc');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { fields: { name: string; default?: unknown }[] };
    delete schema.fields.find((f) => f.name === 'sample_rate')!.default;
    writeFileSync(file, JSON.stringify(schema));
    const problems = failed(dir).flatMap((c) => c.problems);
    expect(problems.some((p) => p.includes('READER_FIELD_MISSING_DEFAULT_VALUE at OnexEvent.sample_rate'))).toBe(true);
  });

  it('fails when the schemas and src/event disagree', () => {
    const file = join(dir, 'onex-event', 'v1.1.0.avsc');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { fields: { name: string; type: { symbols?: string[] } }[] };
    schema['onex.version'] = '1.1.1';
    schema.fields.find((f) => f.name === 'event_type')!.type.symbols!.pop();
    writeFileSync(file, JSON.stringify(schema));
    const names = failed(dir).map((c) => c.name);
    expect(names).toContain('each version has its schema, named by onex.version');
    expect(names).toContain('event types agree with src/event');
  });

  it('fails when a typed metadata record drifts from the metadata standard', () => {
    const file = join(dir, 'onex-event', 'v2.0.0.avsc');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"name": "execution_time_ms",\n              "type": "double"', '"name": "execution_time_ms",\n              "type": "float"'));
    const bad = failed(dir);
    expect(bad.map((c) => c.name)).toContain('2.0.0 typed metadata agrees with the metadata standards');
  });

  it('fails when a version file is missing', () => {
    rmSync(join(dir, 'onex-event', 'v1.3.0.avsc'));
    expect(failed(dir).map((c) => c.name)).toEqual([
      'each version has its schema, named by onex.version',
      'the compatibility matrix is the declared one',
    ]);
  });
});

describe('onex schema', () => {
  let out: string[];
  beforeEach(() => {
    out = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  async function run(...args: string[]): Promise<string> {
    const program = new Command('onex').exitOverride().configureOutput({ writeErr: () => undefined, outputError: () => undefined });
    registerSchemaCommands(program);
    try {
      await program.parseAsync(['node', 'onex', 'schema', ...args]);
      return 'exit 0';
    } catch (err) {
      return isOnexError(err) ? `${err.code}: ${err.message}` : `commander: ${(err as Error).message}`;
    }
  }

  it('check: exit 0 on the shipped schemas, with the matrix', async () => {
    expect(await run('check')).toBe('exit 0');
    expect(out.join('')).toContain('ok    the compatibility matrix is the declared one');
    expect(out.join('')).toContain('| 1.0.0 | yes | yes | yes | yes | transform |');
  });

  it('check: ONEX_SCHEMA_700 on a broken avro dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onex-avro-'));
    try {
      writeFileSync(join(dir, 'x.avsc'), 'not json');
      expect(await run('check', '--dir', dir)).toMatch(/^ONEX_SCHEMA_700: \d+ of 6 schema checks failed\.$/);
      expect(out.join('')).toContain('FAIL  every .avsc is a valid Avro schema');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compat: prints compatible and exits 0 for a MINOR step', async () => {
    expect(await run('compat', '--old', schemaFile('1.0.0'), '--new', schemaFile('1.1.0'))).toBe('exit 0');
    expect(out.join('')).toBe('compatible\n');
  });

  it('compat: prints the reasons and exits 1 across the MAJOR step', async () => {
    const result = await run('compat', '--old', schemaFile('1.3.0'), '--new', schemaFile('2.0.0'), '--mode', 'backward');
    expect(result).toMatch(/^ONEX_SCHEMA_701: .*v2\.0\.0\.avsc is not BACKWARD compatible with .*v1\.3\.0\.avsc \(1 incompatibility\)\.$/);
    expect(out.join('')).toMatch(/^MISSING_UNION_BRANCH {2}OnexEvent\.metadata {2}reader union lacks a branch that can read writer type string/);
  });

  it('compat: FORWARD means the old schema reads data of the new', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onex-compat-'));
    try {
      const a = join(dir, 'a.avsc');
      const b = join(dir, 'b.avsc');
      writeFileSync(a, JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'int' }] }));
      writeFileSync(b, JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'int' }, { name: 'y', type: 'int' }] }));
      expect(await run('compat', '--old', a, '--new', b, '--mode', 'FORWARD')).toBe('exit 0');
      expect(await run('compat', '--old', a, '--new', b)).toMatch(/^ONEX_SCHEMA_701: /);
      expect(await run('compat', '--old', a, a, '--new', b, '--mode', 'FULL_TRANSITIVE', '--json')).toMatch(/^ONEX_SCHEMA_701: /);
      expect(JSON.parse(out.at(-1)!)).toMatchObject({ mode: 'FULL_TRANSITIVE', compatible: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compat: a missing file is ONEX_CLI_300, a bad mode a commander error', async () => {
    expect(await run('compat', '--old', '/no/such.avsc', '--new', schemaFile('1.0.0'))).toBe('ONEX_CLI_300: --old /no/such.avsc cannot be read: ENOENT.');
    expect(await run('compat', '--old', schemaFile('1.0.0'), '--new', schemaFile('1.0.0'), '--mode', 'SIDEWAYS')).toMatch(/^commander: .*use one of BACKWARD/);
  });

  it('list: every version with its fingerprint and how it is reached', async () => {
    expect(await run('list', '--json')).toBe('exit 0');
    const rows = JSON.parse(out.join('')) as { version: string; from: string; fingerprint: string }[];
    expect(rows.map((r) => r.version)).toEqual([...SCHEMA_VERSIONS]);
    expect(rows[4]!.from).toBe('1.3.0 by transform (MAJOR)');
    expect(rows[1]!.from).toBe('1.0.0 by Avro resolution (MINOR)');
    expect(new Set(rows.map((r) => r.fingerprint)).size).toBe(SCHEMA_VERSIONS.length);
  });
});
