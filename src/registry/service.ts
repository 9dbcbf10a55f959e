import { isOnexError } from '../errors/index.js';
import { parseAvro, type ResolvedReference } from './avro.js';
import { checkSubjectCompatibility } from './compatibility.js';
import { httpErrors } from './http-errors.js';
import {
  COMPATIBILITY_LEVELS,
  DEFAULT_COMPATIBILITY,
  MODES,
  keys,
  schemaIdentity,
  type CompatibilityLevel,
  type LogRecord,
  type RegistryMode,
  type RegistryState,
  type SchemaReference,
  type SchemaValue,
  type SubjectVersion,
} from './state.js';
import type { RegistryStore } from './store.js';

/**
 * The Schema Registry's semantics, independent of HTTP: what each operation of Confluent's REST API does to the state
 * and what it answers. Every failure is a RegistryHttpError with Confluent's status and error code.
 */

const MAX_VERSION = 2 ** 31 - 1;
const SUPPORTED_TYPES = ['AVRO'] as const;

export type VersionRef = number | 'latest';

export interface SchemaBody {
  schema?: unknown;
  schemaType?: unknown;
  references?: unknown;
}

/** GET /subjects/{s}/versions/{v}: the log's schema record without its deleted flag. */
export type VersionResponse = Omit<SchemaValue, 'deleted'>;

interface CheckedSchema {
  schemaType: string;
  canonical: string;
  references: SchemaReference[];
  identity: string;
}

export function parseVersionRef(text: string): VersionRef {
  const t = text.trim();
  if (t.toLowerCase() === 'latest' || t === '-1') return 'latest';
  if (/^\+?\d{1,10}$/.test(t)) {
    const n = Number(t);
    if (n >= 1 && n <= MAX_VERSION) return n;
  }
  throw httpErrors.invalidVersion(text);
}

export function parseLevel(value: unknown): CompatibilityLevel {
  const level = typeof value === 'string' ? value.trim().toUpperCase() : undefined;
  if (!level || !(COMPATIBILITY_LEVELS as readonly string[]).includes(level)) throw httpErrors.invalidCompatibilityLevel();
  return level as CompatibilityLevel;
}

export function parseMode(value: unknown): RegistryMode {
  const mode = typeof value === 'string' ? value.trim().toUpperCase() : undefined;
  if (!mode || !(MODES as readonly string[]).includes(mode)) throw httpErrors.invalidMode(String(value));
  return mode as RegistryMode;
}

function isReadOnly(mode: RegistryMode): boolean {
  return mode !== 'READWRITE';
}

function validSubject(subject: string): void {
  // Confluent refuses empty names and control characters; the two names below are reserved for its own keys.
  // eslint-disable-next-line no-control-regex
  if (subject.length === 0 || /[\u0000-\u001f\u007f]/.test(subject) || subject === '__GLOBAL' || subject === '__EMPTY') {
    throw httpErrors.invalidSubject(subject);
  }
}

function versionResponse(state: RegistryState, v: SubjectVersion): VersionResponse {
  const stored = state.schemas.get(v.id)!;
  const out: VersionResponse = { subject: v.subject, version: v.version, id: v.id, schema: stored.schema };
  if (stored.schemaType !== 'AVRO') out.schemaType = stored.schemaType;
  if (stored.references.length > 0) out.references = stored.references;
  // Key order as Confluent writes it: subject, version, id, schemaType, references, schema.
  const { schema, ...head } = out;
  return { ...head, schema };
}

export class RegistryService {
  constructor(readonly store: RegistryStore) {}

  get state(): RegistryState {
    return this.store.state;
  }

  // ---- schema checks -------------------------------------------------------------------------------------------

  private readReferences(raw: unknown): SchemaReference[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) throw httpErrors.invalidSchema('Invalid schema references: expected a list');
    return raw.map((r: unknown) => {
      const ref = r as Partial<SchemaReference> | null;
      if (
        !ref ||
        typeof ref.name !== 'string' ||
        typeof ref.subject !== 'string' ||
        typeof ref.version !== 'number' ||
        !Number.isInteger(ref.version)
      ) {
        throw httpErrors.invalidSchema('Invalid schema reference: each needs a name, a subject and an integer version');
      }
      return { name: ref.name, subject: ref.subject, version: ref.version };
    });
  }

  /** Resolves references depth-first (dependencies before dependants), as the Avro parser needs them. */
  private resolveReferences(state: RegistryState, refs: SchemaReference[], seen = new Set<string>()): ResolvedReference[] {
    const out: ResolvedReference[] = [];
    for (const ref of refs) {
      const versions = state.versionsOf(ref.subject);
      const entry = ref.version === -1 ? versions.at(-1) : versions.find((v) => v.version === ref.version);
      if (!entry) {
        throw httpErrors.invalidSchema(
          `Invalid schema: reference ${ref.name} to subject '${ref.subject}' version ${ref.version} not found`,
        );
      }
      const key = `${ref.subject}\u0000${entry.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const stored = state.schemas.get(entry.id)!;
      out.push(...this.resolveReferences(state, stored.references, seen));
      out.push({ name: ref.name, schema: stored.schema });
    }
    return out;
  }

  /** Validates a request's schema against the state (references must exist) and computes its identity. */
  checkSchema(state: RegistryState, body: SchemaBody): CheckedSchema {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw httpErrors.invalidSchema('Invalid schema: the request body must be a JSON object with a "schema" field');
    }
    const schemaType = body.schemaType === undefined || body.schemaType === null ? 'AVRO' : body.schemaType;
    if (typeof schemaType !== 'string' || !(SUPPORTED_TYPES as readonly string[]).includes(schemaType.toUpperCase())) {
      throw httpErrors.invalidSchema(`Invalid schema type ${String(schemaType)}: this registry supports AVRO`);
    }
    if (typeof body.schema !== 'string') {
      throw httpErrors.invalidSchema(body.schema === undefined ? 'Empty schema' : 'Invalid schema: "schema" must be a string');
    }
    const references = this.readReferences(body.references);
    const resolved = this.resolveReferences(state, references);
    try {
      const { canonical } = parseAvro(body.schema, resolved);
      return { schemaType: 'AVRO', canonical, references, identity: schemaIdentity('AVRO', canonical, references) };
    } catch (err) {
      if (isOnexError(err) && (err.code === 'ONEX_SCHEMA_700' || err.code === 'ONEX_VALID_101')) throw httpErrors.invalidSchema(err.message);
      throw err;
    }
  }

  private previousLive(state: RegistryState, subject: string): { version: number; schema: string }[] {
    return state.versionsOf(subject).map((v) => ({ version: v.version, schema: state.schemas.get(v.id)!.schema }));
  }

  private refuseIfReadOnly(state: RegistryState, subject: string): void {
    if (isReadOnly(state.modeFor(subject))) {
      throw httpErrors.operationNotPermitted(`Subject ${subject} is in read-only mode`);
    }
  }

  // ---- subjects and versions -------------------------------------------------------------------------------------

  listSubjects(opts: { deleted?: boolean; deletedOnly?: boolean; subjectPrefix?: string } = {}): string[] {
    const out: string[] = [];
    for (const [subject, versions] of this.state.subjects) {
      if (opts.subjectPrefix && !subject.startsWith(opts.subjectPrefix)) continue;
      const live = [...versions.values()].some((v) => !v.deleted);
      if (opts.deletedOnly ? !live : live || opts.deleted) out.push(subject);
    }
    return out.sort();
  }

  listVersions(subject: string, deleted = false): number[] {
    const versions = this.state.versionsOf(subject, deleted);
    if (versions.length === 0) throw httpErrors.subjectNotFound(subject);
    return versions.map((v) => v.version);
  }

  private findVersion(state: RegistryState, subject: string, ref: VersionRef, deleted: boolean): SubjectVersion {
    const all = state.versionsOf(subject, true);
    if (all.length === 0) throw httpErrors.subjectNotFound(subject);
    const candidates = deleted ? all : all.filter((v) => !v.deleted);
    if (ref === 'latest') {
      const latest = candidates.at(-1);
      if (!latest) throw httpErrors.subjectNotFound(subject);
      return latest;
    }
    const found = candidates.find((v) => v.version === ref);
    if (!found) throw httpErrors.versionNotFound(ref);
    return found;
  }

  getVersion(subject: string, versionText: string, deleted = false): VersionResponse {
    const ref = parseVersionRef(versionText);
    return versionResponse(this.state, this.findVersion(this.state, subject, ref, deleted));
  }

  referencedBy(subject: string, versionText: string): number[] {
    const ref = parseVersionRef(versionText);
    const target = this.findVersion(this.state, subject, ref, false);
    const ids: number[] = [];
    for (const stored of this.state.schemas.values()) {
      if (stored.references.some((r) => r.subject === subject && r.version === target.version)) ids.push(stored.id);
    }
    return ids.sort((a, b) => a - b);
  }

  async register(subject: string, body: SchemaBody): Promise<{ id: number }> {
    validSubject(subject);
    return this.store.write((state) => {
      this.refuseIfReadOnly(state, subject);
      const checked = this.checkSchema(state, body);
      const all = state.versionsOf(subject, true);
      const existing = all.find((v) => !v.deleted && state.idByIdentity.get(checked.identity) === v.id);
      if (existing) return { records: [], result: () => ({ id: existing.id }) };

      const level = state.compatibilityFor(subject);
      const compat = checkSubjectCompatibility(this.previousLive(state, subject), checked.canonical, level);
      if (!compat.compatible) {
        throw httpErrors.incompatible(
          `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${compat.messages.join(', ')}]`,
        );
      }
      const knownId = state.idByIdentity.get(checked.identity);
      const id = knownId ?? state.maxId + 1;
      const version = (all.at(-1)?.version ?? 0) + 1;
      const records: LogRecord[] = [
        {
          key: keys.schema(subject, version),
          value: {
            subject,
            version,
            id,
            ...(checked.schemaType === 'AVRO' ? {} : { schemaType: checked.schemaType }),
            references: checked.references,
            schema: checked.canonical,
            deleted: false,
          },
        },
      ];
      if (knownId === undefined) records.push({ key: keys.idWatermark(), value: { maxId: id } });
      return { records, result: () => ({ id }) };
    });
  }

  lookup(subject: string, body: SchemaBody, deleted = false): VersionResponse {
    const state = this.state;
    const checked = this.checkSchema(state, body);
    const id = state.idByIdentity.get(checked.identity);
    const versions = state.versionsOf(subject, deleted);
    const match = id === undefined ? undefined : versions.filter((v) => v.id === id).at(-1);
    if (match) return versionResponse(state, match);
    if (versions.length === 0) throw httpErrors.subjectNotFound(subject);
    throw httpErrors.schemaNotFound();
  }

  async deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.store.write((state) => {
      const all = state.versionsOf(subject, true);
      if (all.length === 0) throw httpErrors.subjectNotFound(subject);
      this.refuseIfReadOnly(state, subject);
      const live = all.filter((v) => !v.deleted);
      this.refuseIfReferenced(state, subject, permanent ? all : live);
      if (!permanent) {
        if (live.length === 0) throw httpErrors.subjectSoftDeleted(subject);
        const records = live.map((v) => this.schemaRecord(state, v, true));
        return { records, result: () => live.map((v) => v.version) };
      }
      if (live.length > 0) throw httpErrors.subjectNotSoftDeleted(subject);
      const records: LogRecord[] = all.map((v) => ({ key: keys.schema(subject, v.version), value: null }));
      if (state.subjectConfig.has(subject)) records.push({ key: keys.config(subject), value: null });
      if (state.subjectMode.has(subject)) records.push({ key: keys.mode(subject), value: null });
      return { records, result: () => all.map((v) => v.version) };
    });
  }

  async deleteVersion(subject: string, versionText: string, permanent: boolean): Promise<number> {
    const ref = parseVersionRef(versionText);
    return this.store.write((state) => {
      const all = state.versionsOf(subject, true);
      if (all.length === 0) throw httpErrors.subjectNotFound(subject);
      this.refuseIfReadOnly(state, subject);
      const target =
        ref === 'latest' ? (permanent ? all : all.filter((v) => !v.deleted)).at(-1) : all.find((v) => v.version === ref);
      if (!target) throw httpErrors.versionNotFound(ref);
      this.refuseIfReferenced(state, subject, [target]);
      if (!permanent) {
        if (target.deleted) throw httpErrors.versionSoftDeleted(subject, target.version);
        return { records: [this.schemaRecord(state, target, true)], result: () => target.version };
      }
      if (!target.deleted) throw httpErrors.versionNotSoftDeleted(subject, target.version);
      return { records: [{ key: keys.schema(subject, target.version), value: null }], result: () => target.version };
    });
  }

  private schemaRecord(state: RegistryState, v: SubjectVersion, deleted: boolean): LogRecord {
    const stored = state.schemas.get(v.id)!;
    return {
      key: keys.schema(v.subject, v.version),
      value: {
        subject: v.subject,
        version: v.version,
        id: v.id,
        ...(stored.schemaType === 'AVRO' ? {} : { schemaType: stored.schemaType }),
        references: stored.references,
        schema: stored.schema,
        deleted,
      },
    };
  }

  private refuseIfReferenced(state: RegistryState, subject: string, targets: SubjectVersion[]): void {
    for (const target of targets) {
      for (const stored of state.schemas.values()) {
        const refers = stored.references.some((r) => r.subject === subject && r.version === target.version);
        const liveUser = [...stored.usedBy].some(([s, versions]) =>
          [...versions].some((ver) => state.subjects.get(s)?.get(ver)?.deleted === false),
        );
        if (refers && liveUser) {
          throw httpErrors.referenceExists(
            `One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=${subject},version=${target.version}}.`,
          );
        }
      }
    }
  }

  // ---- schemas by id -------------------------------------------------------------------------------------------

  /**
   * A schema id another instance handed out a moment ago may not be applied here yet: catch up once, then answer.
   * Only ids above the highest one known can be that new; a miss below it is a deleted id and answers at once, so a
   * flood of requests for unknown ids cannot turn into a flood of catch-ups.
   */
  private async storedById(id: number) {
    let stored = this.state.schemas.get(id);
    if (!stored && id > this.state.maxId) {
      await this.store.sync();
      stored = this.state.schemas.get(id);
    }
    if (!stored) throw httpErrors.schemaNotFound(id);
    return stored;
  }

  parseId(text: string): number {
    if (!/^\d{1,10}$/.test(text) || Number(text) > MAX_VERSION) throw httpErrors.schemaNotFound(text);
    return Number(text);
  }

  /** The body of GET /schemas/ids/{id}, serialised once per schema: this is the hot path of every consumer. */
  async schemaByIdBody(id: number): Promise<string> {
    const stored = await this.storedById(id);
    if (stored.responseBody === undefined) {
      const body: Record<string, unknown> = {};
      if (stored.schemaType !== 'AVRO') body.schemaType = stored.schemaType;
      if (stored.references.length > 0) body.references = stored.references;
      body.schema = stored.schema;
      stored.responseBody = JSON.stringify(body);
    }
    return stored.responseBody;
  }

  async rawSchemaById(id: number): Promise<string> {
    return (await this.storedById(id)).schema;
  }

  async subjectVersionsById(id: number, deleted = false): Promise<{ subject: string; version: number }[]> {
    const stored = await this.storedById(id);
    const out: { subject: string; version: number }[] = [];
    for (const [subject, versions] of stored.usedBy) {
      for (const version of versions) {
        const entry = this.state.subjects.get(subject)?.get(version);
        if (entry && (deleted || !entry.deleted)) out.push({ subject, version });
      }
    }
    if (out.length === 0) throw httpErrors.schemaNotFound(id);
    return out.sort((a, b) => (a.subject === b.subject ? a.version - b.version : a.subject < b.subject ? -1 : 1));
  }

  async subjectsById(id: number, deleted = false): Promise<string[]> {
    return [...new Set((await this.subjectVersionsById(id, deleted)).map((sv) => sv.subject))];
  }

  listSchemas(opts: { subjectPrefix?: string; deleted?: boolean; latestOnly?: boolean; offset?: number; limit?: number }): VersionResponse[] {
    const out: VersionResponse[] = [];
    for (const subject of [...this.state.subjects.keys()].sort()) {
      if (opts.subjectPrefix && !subject.startsWith(opts.subjectPrefix)) continue;
      const versions = this.state.versionsOf(subject, opts.deleted);
      const chosen = opts.latestOnly ? versions.slice(-1) : versions;
      for (const v of chosen) out.push(versionResponse(this.state, v));
    }
    const offset = Math.max(0, opts.offset ?? 0);
    const limit = opts.limit !== undefined && opts.limit >= 0 ? opts.limit : undefined;
    return out.slice(offset, limit === undefined ? undefined : offset + limit);
  }

  schemaTypes(): string[] {
    return [...SUPPORTED_TYPES];
  }

  // ---- compatibility -------------------------------------------------------------------------------------------

  testCompatibility(
    subject: string,
    versionText: string | undefined,
    body: SchemaBody,
    verbose: boolean,
  ): { is_compatible: boolean; messages?: string[] } {
    const state = this.state;
    const ref = versionText === undefined ? undefined : parseVersionRef(versionText);
    const checked = this.checkSchema(state, body);
    const level = state.compatibilityFor(subject);
    let previous = this.previousLive(state, subject);
    // As in Confluent's registry: a named version (latest included) is the one schema compared, whatever the level
    // (the messages still name the subject's level); a transitive level only widens registration and the request
    // without a version.
    if (ref === 'latest') previous = previous.slice(-1);
    else if (ref !== undefined) previous = previous.filter((p) => p.version === this.findVersion(state, subject, ref, false).version);
    const result = checkSubjectCompatibility(previous, checked.canonical, level);
    return verbose ? { is_compatible: result.compatible, messages: result.messages } : { is_compatible: result.compatible };
  }

  // ---- config and mode -------------------------------------------------------------------------------------------

  getConfig(subject: string | null, defaultToGlobal = false): { compatibilityLevel: CompatibilityLevel } {
    if (subject === null) return { compatibilityLevel: this.state.globalConfig ?? DEFAULT_COMPATIBILITY };
    const level = this.state.subjectConfig.get(subject) ?? (defaultToGlobal ? this.state.compatibilityFor(subject) : undefined);
    if (!level) throw httpErrors.subjectCompatibilityNotConfigured(subject);
    return { compatibilityLevel: level };
  }

  async setConfig(subject: string | null, body: unknown): Promise<{ compatibility: CompatibilityLevel }> {
    const level = parseLevel((body as { compatibility?: unknown } | null)?.compatibility);
    if (subject !== null) validSubject(subject);
    return this.store.write(() => ({
      records: [{ key: keys.config(subject), value: { compatibilityLevel: level } }],
      result: () => ({ compatibility: level }),
    }));
  }

  async deleteConfig(subject: string | null): Promise<{ compatibilityLevel: CompatibilityLevel }> {
    return this.store.write((state) => {
      if (subject === null) {
        const previous = state.globalConfig ?? DEFAULT_COMPATIBILITY;
        return { records: [{ key: keys.config(null), value: null }], result: () => ({ compatibilityLevel: previous }) };
      }
      const previous = state.subjectConfig.get(subject);
      if (!previous) {
        if (state.versionsOf(subject, true).length === 0) throw httpErrors.subjectNotFound(subject);
        throw httpErrors.subjectCompatibilityNotConfigured(subject);
      }
      return { records: [{ key: keys.config(subject), value: null }], result: () => ({ compatibilityLevel: previous }) };
    });
  }

  getMode(subject: string | null, defaultToGlobal = false): { mode: RegistryMode } {
    if (subject === null) return { mode: this.state.modeFor(null) };
    const mode = this.state.subjectMode.get(subject) ?? (defaultToGlobal ? this.state.modeFor(null) : undefined);
    if (!mode) throw httpErrors.subjectModeNotConfigured(subject);
    return { mode };
  }

  async setMode(subject: string | null, body: unknown): Promise<{ mode: RegistryMode }> {
    const mode = parseMode((body as { mode?: unknown } | null)?.mode);
    if (subject !== null) validSubject(subject);
    return this.store.write(() => ({
      records: [{ key: keys.mode(subject), value: { mode } }],
      result: () => ({ mode }),
    }));
  }

  async deleteMode(subject: string | null): Promise<{ mode: RegistryMode }> {
    return this.store.write((state) => {
      const previous = subject === null ? state.modeFor(null) : state.subjectMode.get(subject);
      if (!previous) {
        if (state.versionsOf(subject!, true).length === 0) throw httpErrors.subjectNotFound(subject!);
        throw httpErrors.subjectModeNotConfigured(subject!);
      }
      return { records: [{ key: keys.mode(subject), value: null }], result: () => ({ mode: previous }) };
    });
  }
}
