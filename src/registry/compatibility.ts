import { checkCompatibility, type CompatibilityMode, type CompatibilityReason } from '../schema/index.js';
import type { CompatibilityLevel } from './state.js';

/**
 * The registry's one door to the evolution toolkit's compatibility checker (src/schema). The registry never judges
 * compatibility itself; it picks which earlier versions to compare against and turns the checker's reasons into
 * Confluent's verbose messages.
 */

export interface PreviousVersion {
  version: number;
  schema: string;
}

export interface SubjectCompatibility {
  compatible: boolean;
  /** Confluent-style verbose messages: one per reason, then the old version, old schema and level. */
  messages: string[];
}

const TRANSITIVE: ReadonlySet<CompatibilityLevel> = new Set(['BACKWARD_TRANSITIVE', 'FORWARD_TRANSITIVE', 'FULL_TRANSITIVE']);

function isTransitive(level: CompatibilityLevel): boolean {
  return TRANSITIVE.has(level);
}

/** The same direction without the transitive closure: used when one explicit version is the only one to compare. */
function nonTransitive(level: CompatibilityLevel): CompatibilityLevel {
  return level.replace('_TRANSITIVE', '') as CompatibilityLevel;
}

function quote(text: string): string {
  return text.replace(/'/g, "\\'");
}

function describe(reasons: CompatibilityReason[], old: PreviousVersion | undefined, level: CompatibilityLevel): string[] {
  const messages = reasons.map(
    (r) => `{errorType:'${quote(r.rule)}', description:'${quote(r.message)}', additionalInfo:'${quote(r.path)}'}`,
  );
  if (old) {
    messages.push(`{oldSchemaVersion: ${old.version}}`, `{oldSchema: '${quote(old.schema)}'}`);
  }
  messages.push(`{compatibility: '${level}'}`);
  return messages;
}

/**
 * Is `next` compatible with `previous` (oldest -> newest, live versions only) at `level`? Non-transitive levels look
 * at the newest version only; transitive levels at all of them, in one call to the checker. When the answer is no,
 * the versions are then checked one by one (newest first) only to name the version that breaks, as Confluent does.
 */
export function checkSubjectCompatibility(
  previous: PreviousVersion[],
  next: string,
  level: CompatibilityLevel,
): SubjectCompatibility {
  if (level === 'NONE' || previous.length === 0) return { compatible: true, messages: [] };
  const against = isTransitive(level) ? previous : previous.slice(-1);
  const result = checkCompatibility(
    against.map((p) => p.schema),
    next,
    level as CompatibilityMode,
  );
  if (result.compatible) return { compatible: true, messages: [] };
  let culprit: PreviousVersion | undefined = against.length === 1 ? against[0] : undefined;
  let reasons = result.reasons;
  if (!culprit) {
    for (const old of [...against].reverse()) {
      const one = checkCompatibility(old.schema, next, nonTransitive(level) as CompatibilityMode);
      if (!one.compatible) {
        culprit = old;
        reasons = one.reasons;
        break;
      }
    }
  }
  return { compatible: false, messages: describe(reasons, culprit, level) };
}
