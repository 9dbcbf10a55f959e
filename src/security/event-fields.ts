import { EventError } from '../errors/index.js';
import { majorOf, type SchemaVersion } from '../event/index.js';
import { type CiphertextEnvelope, type FieldCipher, isCiphertextEnvelope, readEnvelope } from './field-encryption.js';

/**
 * Field encryption on whole events (event form). Paths name metadata fields: `metadata.input_state.card_number`.
 * A string value is replaced by the envelope's text form (so typed 2.0.0 metadata still holds a string and 1.x events
 * upcast into their typed record); any other value by the envelope object in 1.x. 2.0.0 events write the text form
 * and list the paths in security.encrypted_fields.
 */

interface EventLike {
  readonly event_id: string;
  readonly event_type: string;
  readonly metadata?: unknown;
  readonly security?: unknown;
}

/** The field names under metadata of a path; ONEX_EVENT_633 when the path names no field under metadata. */
export function checkFieldPath(path: string): string[] {
  const parts = path.split('.');
  if (parts[0] !== 'metadata' || parts.length < 2 || parts.some((part) => part === '')) {
    throw new EventError('ONEX_EVENT_633', `encrypted field path ${path} must name a field under metadata (metadata.<field>...).`);
  }
  return parts.slice(1);
}

/**
 * The path a ciphertext is bound to (its associated data): the field's 1.x path. Upcasting moves a 1.x metadata field
 * that the 2.0.0 typed record does not name into the record's `extra` map (`metadata.x` becomes
 * `metadata.extra.x`), and downcasting moves it back, so in typed 2.0.0 metadata `metadata.extra.<rest>` is bound as
 * `metadata.<rest>`: the ciphertext decrypts on either side of the upcast, and only there (a 1.x event's own
 * `metadata.extra` object is a field like any other). Untyped 2.0.0 metadata keeps its paths (they start inside it).
 */
function boundPath(path: string, v2: boolean, metadata: unknown): string {
  if (!v2 || !path.startsWith('metadata.extra.') || (isObject(metadata) && metadata.untyped !== undefined)) return path;
  return `metadata.${path.slice('metadata.extra.'.length)}`;
}

/** checkFieldPath, parsed once per path: a policy names a handful, asked for on every event. */
const pathParts = new Map<string, readonly string[]>();
function partsOf(path: string): readonly string[] {
  let parts = pathParts.get(path);
  if (parts === undefined) {
    parts = checkFieldPath(path);
    if (pathParts.size >= 1024) pathParts.clear();
    pathParts.set(path, parts);
  }
  return parts;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A shallow copy of `root` in which every object on `parts` (but the last) is a copy too, made once per object even
 * when several paths share it (`copied`, a list: a few objects at most): the caller's event is never changed, and
 * nothing off the paths is copied. Undefined when the path runs into a value that is not an object.
 */
function parentOnCopy(root: Record<string, unknown>, parts: readonly string[], copied: object[]): Record<string, unknown> | undefined {
  let parent = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const next = parent[part];
    if (!isObject(next)) return undefined;
    if (copied.includes(next)) parent = next;
    else {
      const copy = { ...next };
      copied.push(copy);
      parent[part] = copy;
      parent = copy;
    }
  }
  return parent;
}

/** One event's encryption in progress (a class, not closures: nothing is allocated per event but what it holds). */
class FieldSealing<E extends EventLike> {
  /** The event's metadata (a copy), and where the paths start: inside the `untyped` branch of untyped 2.0.0 metadata. */
  readonly whole: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
  readonly copied: object[];
  readonly done: string[] = [];
  keyId: string | undefined;
  constructor(
    readonly event: E,
    readonly paths: readonly string[],
    readonly cipher: FieldCipher,
    readonly schemaVersion: SchemaVersion,
    readonly v2: boolean,
  ) {
    this.whole = { ...(event.metadata as Record<string, unknown>) };
    this.metadata = this.whole;
    this.copied = [this.whole];
    if (v2 && untypedBranch(event.metadata) !== event.metadata) {
      this.metadata = { ...(this.whole.untyped as Record<string, unknown>) };
      this.copied.push(this.metadata);
      this.whole.untyped = this.metadata;
    }
  }

  /** Seals the paths from `first` on: the event, or a promise when a field must wait for a data key. */
  from(first: number): E | Promise<E> {
    const { event, paths, cipher, schemaVersion, v2 } = this;
    for (let i = first; i < paths.length; i++) {
      const path = paths[i] as string;
      const parts = partsOf(path);
      const parent = parentOnCopy(this.metadata, parts, this.copied);
      const leaf = parts[parts.length - 1] as string;
      const value = parent?.[leaf];
      if (parent === undefined || value === undefined || value === null) continue;
      const binding = { eventId: event.event_id, eventType: event.event_type, path: boundPath(path, v2, event.metadata), schemaVersion };
      // Text where the schema holds a string (every 2.0.0 field, 1.x string fields), else the envelope object.
      if (v2 || typeof value === 'string') {
        const text = cipher.encryptTextSync(value, binding);
        if (text === undefined) return cipher.encryptText(value, binding).then((made) => this.#put(parent, leaf, path, made, i));
        parent[leaf] = text;
        this.keyId = cipher.sealingKeyId;
      } else {
        const envelope = cipher.encryptSync(value, binding);
        if (envelope === undefined) return cipher.encrypt(value, binding).then((made) => this.#put(parent, leaf, path, made, i));
        parent[leaf] = envelope;
        this.keyId = envelope.kid;
      }
      this.done.push(path);
    }
    return this.#result();
  }

  #put(parent: Record<string, unknown>, leaf: string, path: string, sealed: string | CiphertextEnvelope, i: number): E | Promise<E> {
    parent[leaf] = sealed;
    this.keyId = typeof sealed === 'string' ? readEnvelope(sealed)?.kid : sealed.kid;
    this.done.push(path);
    return this.from(i + 1);
  }

  #result(): E {
    const { event, done } = this;
    if (done.length === 0) return event;
    const out = { ...event, metadata: this.whole } as unknown as Record<string, unknown>;
    if (this.v2) {
      const security = isObject(event.security) ? event.security : undefined;
      out.security = {
        key_id: security?.key_id ?? this.keyId,
        algorithm: security?.algorithm ?? 'aes-256-gcm',
        signature: security?.signature ?? null,
        encrypted_fields: done,
      };
    }
    return out as unknown as E;
  }
}

/**
 * A copy of `event` with the fields at `paths` encrypted; absent fields are left absent. Synchronous (no promise)
 * while the cipher has the period's data key (FieldCipher.encryptSync); a promise when it must make one first.
 */
export function encryptEventFieldsNow<E extends EventLike>(event: E, paths: readonly string[], cipher: FieldCipher, schemaVersion: SchemaVersion): E | Promise<E> {
  if (paths.length === 0 || !isObject(event.metadata)) return event;
  return new FieldSealing(event, paths, cipher, schemaVersion, majorOf(schemaVersion) >= 2).from(0);
}

/** encryptEventFieldsNow, always as a promise. */
export async function encryptEventFields<E extends EventLike>(event: E, paths: readonly string[], cipher: FieldCipher, schemaVersion: SchemaVersion): Promise<E> {
  return encryptEventFieldsNow(event, paths, cipher, schemaVersion);
}

/** 2.0.0 metadata that fits no typed record is the `{ untyped: {...} }` union branch; paths start inside it. */
function untypedBranch(metadata: unknown): unknown {
  if (isObject(metadata) && isObject(metadata.untyped) && Object.keys(metadata).length === 1) return metadata.untyped;
  return metadata;
}

interface FoundEnvelope {
  path: string;
  /** The path's field names under metadata (the union branch of untyped metadata left out). */
  parts: string[];
  envelope: CiphertextEnvelope;
  /** The object that holds the envelope, and its field name there: where an in-place decryption puts the value. */
  parent: Record<string, unknown>;
  key: string;
}

/**
 * Walks an object for envelopes, building a path only where one is found. for-in over own keys rather than
 * Object.keys: the same keys in the same order, without an array made per object on every record.
 */
function walk(value: Record<string, unknown>, parts: string[], found: FoundEnvelope[]): void {
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const child = value[key];
    let envelope: CiphertextEnvelope | undefined;
    if (typeof child === 'string') {
      if (child.startsWith('onex-enc:')) envelope = readEnvelope(child);
    } else if (isObject(child)) {
      if (isCiphertextEnvelope(child)) envelope = child;
      else {
        parts.push(key);
        walk(child, parts, found);
        parts.pop();
        continue;
      }
    }
    if (envelope !== undefined) {
      const at = [...parts, key];
      found.push({ path: `metadata.${at.join('.')}`, parts: at, envelope, parent: value, key });
    }
  }
}

function envelopesOf(event: EventLike): FoundEnvelope[] {
  const found: FoundEnvelope[] = [];
  const metadata = untypedBranch(event.metadata);
  if (isObject(metadata)) walk(metadata, [], found);
  return found;
}

/** Every ciphertext envelope in the event's metadata, with its path. */
export function findEnvelopes(event: EventLike): { path: string; envelope: CiphertextEnvelope }[] {
  return envelopesOf(event).map(({ path, envelope }) => ({ path, envelope }));
}

/**
 * One event's decryption in progress (as FieldSealing). The values are put in only once every field has opened, so
 * a field that does not leaves the event as it was, in place or not.
 */
class FieldOpening<E extends EventLike> {
  readonly values: unknown[] = [];
  constructor(
    readonly event: E,
    readonly found: readonly FoundEnvelope[],
    readonly cipher: FieldCipher,
    readonly v2: boolean,
    readonly inPlace: boolean,
  ) {}

  from(first: number): E | Promise<E> {
    const { event, found, cipher, values } = this;
    for (let i = first; i < found.length; i++) {
      const { path, envelope } = found[i]!;
      const binding = { eventId: event.event_id, eventType: event.event_type, path: boundPath(path, this.v2, event.metadata) };
      const opened = cipher.decryptSync(envelope, binding);
      if (opened === undefined) {
        return cipher.decrypt(envelope, binding).then((value) => {
          values.push(value);
          return this.from(i + 1);
        });
      }
      values.push(opened.value);
    }
    return this.inPlace ? this.#into() : this.#copy();
  }

  /** The values put where the envelopes were, in the event itself: no object is copied. */
  #into(): E {
    const { event, found, values } = this;
    for (let i = 0; i < found.length; i++) found[i]!.parent[found[i]!.key] = values[i];
    const security = event.security;
    if (isObject(security) && Array.isArray(security.encrypted_fields)) security.encrypted_fields = [];
    return event;
  }

  /** A copy of the event with the values in, the copy made along the paths only (parentOnCopy). */
  #copy(): E {
    const { event, found, values } = this;
    const whole = { ...(event.metadata as Record<string, unknown>) };
    const copied: object[] = [whole];
    let metadata = whole;
    if (untypedBranch(event.metadata) !== event.metadata) {
      metadata = { ...(whole.untyped as Record<string, unknown>) };
      copied.push(metadata);
      whole.untyped = metadata;
    }
    for (let i = 0; i < found.length; i++) {
      const parts = found[i]!.parts;
      const parent = parentOnCopy(metadata, parts, copied) as Record<string, unknown>;
      parent[parts[parts.length - 1] as string] = values[i];
    }
    const out = { ...event, metadata: whole } as unknown as Record<string, unknown>;
    if (isObject(event.security) && Array.isArray(event.security.encrypted_fields)) {
      out.security = { ...event.security, encrypted_fields: [] };
    }
    return out as unknown as E;
  }
}

/**
 * A copy of `event` with every ciphertext envelope in its metadata decrypted (whatever version the event was
 * upcast or downcast to since). Throws the cipher's ONEX error on the first field that does not decrypt, the event
 * unchanged. Synchronous while the key's facts and the data key are cached (FieldCipher.decryptSync), else a promise.
 * `inPlace`: the caller owns the event (the worker's freshly decoded one) and the values are put into it, so that no
 * copy of the event and its metadata is made per record (and the handlers see the objects the decoder made).
 */
export function decryptEventFieldsNow<E extends EventLike>(event: E, cipher: FieldCipher, options?: { readonly inPlace?: boolean }): E | Promise<E> {
  const found = envelopesOf(event);
  if (found.length === 0) return event;
  const version = (event as { schema_version?: unknown }).schema_version;
  return new FieldOpening(event, found, cipher, typeof version === 'string' && majorOf(version as SchemaVersion) >= 2, options?.inPlace === true).from(0);
}

/** decryptEventFieldsNow, always as a promise. */
export async function decryptEventFields<E extends EventLike>(event: E, cipher: FieldCipher): Promise<E> {
  return decryptEventFieldsNow(event, cipher);
}
