import { majorOf, SCHEMA_VERSIONS, type SchemaVersion } from '../event/index.js';
import { checkCompatibility, checkReaderWriter } from './compatibility.js';
import type { CompatibilityReason } from './types.js';
import { loadSchema } from './known-schemas.js';

/**
 * The compatibility matrix: which readers can read which writers through Avro resolution alone (no transform),
 * computed from the schemas in avro/ and held against the declared one.
 *
 * Declared (docs/protocol.md section 5, made exact for the versions we ship): within major 1 every reader reads
 * every writer, since every MINOR step is BACKWARD and FORWARD compatible (the enum default lets older readers take
 * newer event types, new fields have defaults); 2.0.0 is read only by 2.0.0 and reads no 1.x, the 1.3.0 <-> 2.0.0
 * transforms bridge the break. The protocol's own table (1.0.x read by 1.0-1.2, 1.1.x by 1.1-1.2, 2.0.x only by
 * 2.0+) is a subset of this one, and a check keeps it so.
 */
export type CompatibilityMatrix = Readonly<Record<SchemaVersion, Readonly<Record<SchemaVersion, boolean>>>>;

/** writer -> readers that read it by resolution. */
export const DECLARED_READERS: Readonly<Record<SchemaVersion, readonly SchemaVersion[]>> = Object.freeze({
  '1.0.0': ['1.0.0', '1.1.0', '1.2.0', '1.3.0'],
  '1.1.0': ['1.0.0', '1.1.0', '1.2.0', '1.3.0'],
  '1.2.0': ['1.0.0', '1.1.0', '1.2.0', '1.3.0'],
  '1.3.0': ['1.0.0', '1.1.0', '1.2.0', '1.3.0'],
  '2.0.0': ['2.0.0'],
});

/** The protocol's table, as writer -> readers it promises. */
export const PROTOCOL_READERS: Readonly<Partial<Record<SchemaVersion, readonly SchemaVersion[]>>> = Object.freeze({
  '1.0.0': ['1.0.0', '1.1.0', '1.2.0'],
  '1.1.0': ['1.1.0', '1.2.0'],
  '2.0.0': ['2.0.0'],
});

export interface MatrixCell {
  readonly writer: SchemaVersion;
  readonly reader: SchemaVersion;
  readonly compatible: boolean;
  readonly reasons: readonly CompatibilityReason[];
}

export interface MatrixReport {
  readonly ok: boolean;
  readonly cells: readonly MatrixCell[];
  /** One sentence per disagreement between the computed and the declared matrix. */
  readonly problems: readonly string[];
}

/** The schema of each version; by default the shipped ones. */
export type SchemaSet = Readonly<Record<SchemaVersion, object>>;

function shippedSchemas(): SchemaSet {
  return Object.fromEntries(SCHEMA_VERSIONS.map((v) => [v, loadSchema(v)])) as unknown as SchemaSet;
}

export function computeCompatibilityMatrix(schemas: SchemaSet = shippedSchemas()): MatrixCell[] {
  const versions = SCHEMA_VERSIONS;
  const cells: MatrixCell[] = [];
  for (const writer of versions) {
    for (const reader of versions) {
      const { compatible, reasons } = checkReaderWriter(schemas[reader], schemas[writer]);
      cells.push({ writer, reader, compatible, reasons });
    }
  }
  return cells;
}

export function checkCompatibilityMatrix(schemas: SchemaSet = shippedSchemas()): MatrixReport {
  const cells = computeCompatibilityMatrix(schemas);
  const problems: string[] = [];
  const cell = (writer: SchemaVersion, reader: SchemaVersion) => cells.find((c) => c.writer === writer && c.reader === reader)!;
  for (const c of cells) {
    const declared = DECLARED_READERS[c.writer].includes(c.reader);
    if (declared && !c.compatible) {
      const r = c.reasons[0]!;
      problems.push(`${c.reader} readers are declared to read ${c.writer} data but cannot: ${r.rule} at ${r.path}: ${r.message}.`);
    } else if (!declared && c.compatible) {
      problems.push(`${c.reader} readers can read ${c.writer} data, which the matrix declares incompatible (a MAJOR step that breaks nothing?).`);
    }
  }
  for (const [writer, readers] of Object.entries(PROTOCOL_READERS) as [SchemaVersion, SchemaVersion[]][]) {
    for (const reader of readers) {
      if (!cell(writer, reader).compatible) problems.push(`The protocol promises that ${reader} readers read ${writer} data; they cannot.`);
    }
  }
  // Every MINOR step both ways, and the subjects' mode (BACKWARD_TRANSITIVE within a major) over the whole major.
  for (let i = 1; i < SCHEMA_VERSIONS.length; i++) {
    const [a, b] = [SCHEMA_VERSIONS[i - 1]!, SCHEMA_VERSIONS[i]!];
    if (majorOf(a) !== majorOf(b)) continue;
    const full = checkCompatibility(schemas[a], schemas[b], 'FULL');
    if (!full.compatible) problems.push(`The MINOR step ${a} -> ${b} is not BACKWARD and FORWARD compatible: ${full.reasons[0]!.message}.`);
    const earlier = SCHEMA_VERSIONS.slice(0, i).filter((v) => majorOf(v) === majorOf(b)).map((v) => schemas[v]);
    const transitive = checkCompatibility(earlier, schemas[b], 'FULL_TRANSITIVE');
    if (!transitive.compatible) problems.push(`${b} is not FULL_TRANSITIVE compatible within its major: ${transitive.reasons[0]!.message}.`);
  }
  return { ok: problems.length === 0, cells, problems };
}

/** Markdown table: rows are writers, columns readers; "yes" reads by resolution, "transform" needs the chain. */
export function renderMatrix(cells: readonly MatrixCell[], versions: readonly SchemaVersion[] = SCHEMA_VERSIONS): string {
  const lines = [`| writer \\ reader | ${versions.join(' | ')} |`, `|---|${versions.map(() => '---').join('|')}|`];
  for (const writer of versions) {
    const row = versions.map((reader) => (cells.find((c) => c.writer === writer && c.reader === reader)!.compatible ? 'yes' : 'transform'));
    lines.push(`| ${writer} | ${row.join(' | ')} |`);
  }
  return lines.join('\n');
}
