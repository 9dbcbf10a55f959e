import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { onexError } from '../errors/index.js';
import { logger } from '../logging/index.js';
import { FLAG_DEFINITIONS, flagDefinition, flagEnvName } from './definitions.js';
import type { FlagValue } from './types.js';

export interface FileFlagProviderOptions {
  /** A JSON file of `{ "flag.key": value }`, read at construction and re-read whenever it changes. */
  readonly file?: string;
  /** Environment variables ONEX_FLAG_<KEY> that pin flags for the life of the process (they win over the file). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Editors and config management replace a file in several steps; one re-read after they settle is enough. */
const RELOAD_SETTLE_MS = 30;

/**
 * The default OpenFeature provider: a flags file plus environment variables. The file is the live switch (an
 * operator edits it and every running producer and worker picks the change up through the provider's
 * ConfigurationChanged event); an environment variable pins a flag for the process. A deployment that wants flagd,
 * LaunchDarkly or any other OpenFeature provider installs that one instead (see FlagSet.useProvider).
 */
export class FileFlagProvider implements Provider {
  readonly metadata = { name: 'onex-file-env' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  private readonly file: string | undefined;
  private readonly pinned: ReadonlyMap<string, FlagValue>;
  private fromFile: ReadonlyMap<string, FlagValue>;
  private watcher: FSWatcher | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private readonly log = logger('flags');

  /** Throws ONEX_RT_408 when the file cannot be read or holds a value of the wrong kind for a known flag. */
  constructor(options: FileFlagProviderOptions = {}) {
    this.file = options.file ? resolve(options.file) : undefined;
    this.pinned = pinnedFromEnv(options.env ?? {});
    this.fromFile = this.file ? readFlagFile(this.file) : new Map();
  }

  /** The provider the environment describes: ONEX_FLAGS_FILE names the file, ONEX_FLAG_<KEY> pin single flags. */
  static fromEnv(env: Readonly<Record<string, string | undefined>> = process.env): FileFlagProvider {
    return new FileFlagProvider({ file: env.ONEX_FLAGS_FILE || undefined, env });
  }

  /** Every value the provider sets right now, pinned ones over the file's; synchronous, for seeding a cache. */
  snapshot(): ReadonlyMap<string, FlagValue> {
    return new Map([...this.fromFile, ...this.pinned]);
  }

  /** Starts watching the file (OpenFeature calls this when the provider is installed). */
  async initialize(): Promise<void> {
    if (!this.file || this.watcher) return;
    const name = basename(this.file);
    // The directory, not the file: a file replaced by rename (how editors and Kubernetes ConfigMaps write) keeps
    // being seen, where a watch on the old inode would go quiet.
    this.watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(() => this.reload(), RELOAD_SETTLE_MS);
      this.settleTimer.unref();
    });
  }

  async onClose(): Promise<void> {
    clearTimeout(this.settleTimer);
    this.watcher?.close();
    this.watcher = undefined;
  }

  /**
   * Re-reads the file; when a value changed, emits ConfigurationChanged naming the changed flags. A file that is
   * unreadable or invalid mid-edit is logged and the last good values stay: a running pipeline never loses its flags
   * to a half-written file.
   */
  reload(): void {
    if (!this.file) return;
    let next: ReadonlyMap<string, FlagValue>;
    try {
      next = readFlagFile(this.file);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'flags file not re-read; keeping the last good values');
      return;
    }
    const changed = [...new Set([...next.keys(), ...this.fromFile.keys()])].filter((k) => next.get(k) !== this.fromFile.get(k) && !this.pinned.has(k));
    this.fromFile = next;
    if (changed.length > 0) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changed });
  }

  resolveBooleanEvaluation(key: string, defaultValue: boolean): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolve(key, defaultValue));
  }

  resolveNumberEvaluation(key: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(key, defaultValue));
  }

  resolveStringEvaluation(key: string, defaultValue: string): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(key, defaultValue));
  }

  resolveObjectEvaluation<T extends JsonValue>(key: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return Promise.resolve({ value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: `${key}: this provider holds no object flags` });
  }

  private resolve<V extends FlagValue>(key: string, defaultValue: V): ResolutionDetails<V> {
    const value = this.pinned.get(key) ?? this.fromFile.get(key);
    if (value === undefined) return { value: defaultValue, reason: StandardResolutionReasons.DEFAULT };
    if (typeof value !== typeof defaultValue) {
      return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: `${key} is a ${typeof value} here, asked for as a ${typeof defaultValue}` };
    }
    return { value: value as V, reason: StandardResolutionReasons.STATIC, variant: String(value) };
  }
}

function readFlagFile(file: string): ReadonlyMap<string, FlagValue> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw onexError('ONEX_RT_408', `flags file ${file} cannot be read as JSON: ${(cause as Error).message}`, { cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw onexError('ONEX_RT_408', `flags file ${file} must hold one JSON object of "flag.key": value`);
  }
  const values = new Map<string, FlagValue>();
  for (const [key, value] of Object.entries(parsed)) {
    const known = flagDefinition(key);
    const kind = typeof value;
    if (kind !== 'boolean' && kind !== 'number' && kind !== 'string') {
      throw onexError('ONEX_RT_408', `flags file ${file}: ${key} must be a boolean, number or string, got ${JSON.stringify(value)}`);
    }
    if (known && known.kind !== kind) throw onexError('ONEX_RT_408', `flags file ${file}: ${key} is a ${known.kind} flag, got ${JSON.stringify(value)}`);
    values.set(key, value as FlagValue);
  }
  return values;
}

const TRUE = new Set(['true', '1', 'on', 'yes']);
const FALSE = new Set(['false', '0', 'off', 'no']);

function pinnedFromEnv(env: Readonly<Record<string, string | undefined>>): ReadonlyMap<string, FlagValue> {
  const pinned = new Map<string, FlagValue>();
  for (const def of FLAG_DEFINITIONS) {
    const name = flagEnvName(def.key);
    const text = env[name];
    if (text === undefined || text === '') continue;
    if (def.kind === 'boolean') {
      const t = text.trim().toLowerCase();
      if (!TRUE.has(t) && !FALSE.has(t)) throw onexError('ONEX_RT_408', `${name}=${text}: ${def.key} is a boolean flag; use true or false`);
      pinned.set(def.key, TRUE.has(t));
    } else if (def.kind === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n)) throw onexError('ONEX_RT_408', `${name}=${text}: ${def.key} is a number flag`);
      pinned.set(def.key, n);
    } else {
      pinned.set(def.key, text);
    }
  }
  return pinned;
}
