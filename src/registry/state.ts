/**
 * The registry's state as a fold over its log.
 *
 * Every change is a keyed record in Confluent's `_schemas` format (JSON key, JSON value, a null value deletes the key);
 * the state is what you get by applying the records in order. Because each SCHEMA record carries its full facts
 * (subject, version, id, schema, deleted), the state depends only on the latest record per key, which is exactly
 * what a compacted topic keeps: a registry rebuilt from a compacted log equals the one that wrote it.
 *
 * One addition to Confluent's key types: ID_WATERMARK records the highest id ever handed out. Without it, permanently
 * deleting the newest schema and compacting the topic would lower the highest id seen, and the next registration
 * would reuse an id that clients may still have cached for a different schema.
 */

import { COMPATIBILITY_MODES, type CompatibilityMode } from '../schema/index.js';
import { canonicalText } from './avro.js';

/** The registry's compatibility levels are the evolution toolkit's modes, one for one. */
export const COMPATIBILITY_LEVELS: readonly CompatibilityLevel[] = COMPATIBILITY_MODES;
export type CompatibilityLevel = CompatibilityMode;

export const MODES = ['READWRITE', 'READONLY', 'READONLY_OVERRIDE'] as const;
export type RegistryMode = (typeof MODES)[number];

export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';
export const DEFAULT_MODE: RegistryMode = 'READWRITE';

export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

export type RecordKey =
  | { keytype: 'SCHEMA'; subject: string; version: number; magic: 1 }
  | { keytype: 'CONFIG'; subject: string | null; magic: 0 }
  | { keytype: 'MODE'; subject: string | null; magic: 0 }
  | { keytype: 'NOOP'; magic: 0 }
  | { keytype: 'ID_WATERMARK'; magic: 0 };

export interface SchemaValue {
  subject: string;
  version: number;
  id: number;
  schemaType?: string;
  references?: SchemaReference[];
  schema: string;
  deleted: boolean;
}

export interface LogRecord {
  key: RecordKey;
  /** null deletes the key (a tombstone). */
  value: SchemaValue | { compatibilityLevel: CompatibilityLevel } | { mode: RegistryMode } | { maxId: number } | null;
}

/** Key constructors: property order is fixed because compaction compares key bytes. */
export const keys = {
  schema: (subject: string, version: number): RecordKey => ({ keytype: 'SCHEMA', subject, version, magic: 1 }),
  config: (subject: string | null): RecordKey => ({ keytype: 'CONFIG', subject, magic: 0 }),
  mode: (subject: string | null): RecordKey => ({ keytype: 'MODE', subject, magic: 0 }),
  noop: (): RecordKey => ({ keytype: 'NOOP', magic: 0 }),
  idWatermark: (): RecordKey => ({ keytype: 'ID_WATERMARK', magic: 0 }),
};

export interface StoredSchema {
  id: number;
  schemaType: string;
  /** Canonical text. */
  schema: string;
  references: SchemaReference[];
  /** subject -> versions that use this id. */
  usedBy: Map<string, Set<number>>;
  /** GET /schemas/ids/{id} body, built once. */
  responseBody?: string;
}

export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  deleted: boolean;
}

/** Identity of a schema for id reuse: same type, same canonical text, same references. */
export function schemaIdentity(schemaType: string, canonical: string, references: SchemaReference[]): string {
  return `${schemaType}\u0000${canonical}\u0000${JSON.stringify(references.map((r) => [r.name, r.subject, r.version]))}`;
}

export class RegistryState {
  readonly schemas = new Map<number, StoredSchema>();
  readonly idByIdentity = new Map<string, number>();
  /** subject -> version -> entry, versions in ascending order of insertion is not guaranteed: sort when listing. */
  readonly subjects = new Map<string, Map<number, SubjectVersion>>();
  readonly subjectConfig = new Map<string, CompatibilityLevel>();
  readonly subjectMode = new Map<string, RegistryMode>();
  globalConfig: CompatibilityLevel | undefined;
  globalMode: RegistryMode | undefined;
  /** Highest id ever handed out (from schemas seen and the watermark). */
  maxId = 0;
  /** Bumped on every applied record; caches compare it. */
  generation = 0;

  apply(record: LogRecord): void {
    this.generation++;
    const { key, value } = record;
    switch (key.keytype) {
      case 'SCHEMA':
        if (value === null) this.removeVersion(key.subject, key.version);
        else this.putVersion(value as SchemaValue);
        return;
      case 'CONFIG': {
        const level = value === null ? undefined : (value as { compatibilityLevel: CompatibilityLevel }).compatibilityLevel;
        if (key.subject === null) this.globalConfig = level;
        else if (level === undefined) this.subjectConfig.delete(key.subject);
        else this.subjectConfig.set(key.subject, level);
        return;
      }
      case 'MODE': {
        const mode = value === null ? undefined : (value as { mode: RegistryMode }).mode;
        if (key.subject === null) this.globalMode = mode;
        else if (mode === undefined) this.subjectMode.delete(key.subject);
        else this.subjectMode.set(key.subject, mode);
        return;
      }
      case 'ID_WATERMARK':
        if (value !== null) this.maxId = Math.max(this.maxId, (value as { maxId: number }).maxId);
        return;
      default:
        // NOOP, and key types written by other registries (Confluent's DELETE_SUBJECT, CONTEXT, ...): no state.
        return;
    }
  }

  private putVersion(v: SchemaValue): void {
    const previous = this.subjects.get(v.subject)?.get(v.version);
    if (previous && previous.id !== v.id) this.removeVersion(v.subject, v.version);
    let versions = this.subjects.get(v.subject);
    if (!versions) this.subjects.set(v.subject, (versions = new Map()));
    versions.set(v.version, { subject: v.subject, version: v.version, id: v.id, deleted: v.deleted });
    let stored = this.schemas.get(v.id);
    if (!stored) {
      const schemaType = v.schemaType ?? 'AVRO';
      const references = v.references ?? [];
      stored = { id: v.id, schemaType, schema: v.schema, references, usedBy: new Map() };
      this.schemas.set(v.id, stored);
      // Identity from the canonical form, so that a log written by another registry (Confluent's server formats
      // schemas its own way) still finds existing ids. Our own records are canonical already.
      this.idByIdentity.set(schemaIdentity(schemaType, schemaType === 'AVRO' ? canonicalText(v.schema) : v.schema, references), v.id);
    }
    let used = stored.usedBy.get(v.subject);
    if (!used) stored.usedBy.set(v.subject, (used = new Set()));
    used.add(v.version);
    this.maxId = Math.max(this.maxId, v.id);
  }

  private removeVersion(subject: string, version: number): void {
    const versions = this.subjects.get(subject);
    const entry = versions?.get(version);
    if (!versions || !entry) return;
    versions.delete(version);
    if (versions.size === 0) this.subjects.delete(subject);
    const stored = this.schemas.get(entry.id);
    if (!stored) return;
    const used = stored.usedBy.get(subject);
    used?.delete(version);
    if (used && used.size === 0) stored.usedBy.delete(subject);
    if (stored.usedBy.size === 0) {
      this.schemas.delete(entry.id);
      const canonical = stored.schemaType === 'AVRO' ? canonicalText(stored.schema) : stored.schema;
      if (this.idByIdentity.get(schemaIdentity(stored.schemaType, canonical, stored.references)) === entry.id) {
        this.idByIdentity.delete(schemaIdentity(stored.schemaType, canonical, stored.references));
      }
    }
  }

  /** Versions of a subject in ascending order; soft-deleted ones only when asked. */
  versionsOf(subject: string, includeDeleted = false): SubjectVersion[] {
    const versions = this.subjects.get(subject);
    if (!versions) return [];
    return [...versions.values()]
      .filter((v) => includeDeleted || !v.deleted)
      .sort((a, b) => a.version - b.version);
  }

  compatibilityFor(subject: string): CompatibilityLevel {
    return this.subjectConfig.get(subject) ?? this.globalConfig ?? DEFAULT_COMPATIBILITY;
  }

  modeFor(subject: string | null): RegistryMode {
    return (subject === null ? undefined : this.subjectMode.get(subject)) ?? this.globalMode ?? DEFAULT_MODE;
  }
}
