import { EventError } from '../errors/index.js';
import { majorOf, type SchemaVersion } from '../event/versions.js';
import { type CiphertextEnvelope, envelopeToText, type FieldCipher, readEnvelope } from './field-encryption.js';

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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A shallow copy of `root` in which every object on `parts` (but the last) is a copy too, made once per object even
 * when several paths share it (`copied`): the caller's event is never changed, and nothing off the paths is copied.
 * Undefined when the path runs into a value that is not an object.
 */
function parentOnCopy(root: Record<string, unknown>, parts: readonly string[], copied: Set<object>): Record<string, unknown> | undefined {
  let parent = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const next = parent[part];
    if (!isObject(next)) return undefined;
    if (copied.has(next)) parent = next;
    else {
      const copy = { ...next };
      copied.add(copy);
      parent[part] = copy;
      parent = copy;
    }
  }
  return parent;
}

/**
 * A copy of `event` with the fields at `paths` encrypted; absent fields are left absent. Synchronous (no promise)
 * while the cipher has the period's data key (FieldCipher.encryptSync); a promise when it must make one first.
 */
export function encryptEventFieldsNow<E extends EventLike>(event: E, paths: readonly string[], cipher: FieldCipher, schemaVersion: SchemaVersion): E | Promise<E> {
  if (paths.length === 0 || !isObject(event.metadata)) return event;
  const v2 = majorOf(schemaVersion) >= 2;
  const metadata: Record<string, unknown> = { ...event.metadata };
  const copied = new Set<object>([metadata]);
  const done: string[] = [];
  let keyId: string | undefined;
  const put = (parent: Record<string, unknown>, leaf: string, path: string, envelope: CiphertextEnvelope): void => {
    parent[leaf] = v2 || typeof parent[leaf] === 'string' ? envelopeToText(envelope) : envelope;
    done.push(path);
    keyId = envelope.kid;
  };
  const from = (first: number): E | Promise<E> => {
    for (let i = first; i < paths.length; i++) {
      const path = paths[i] as string;
      const parts = checkFieldPath(path);
      const parent = parentOnCopy(metadata, parts, copied);
      const leaf = parts[parts.length - 1] as string;
      if (parent === undefined || parent[leaf] === undefined || parent[leaf] === null) continue;
      const binding = { eventId: event.event_id, eventType: event.event_type, path, schemaVersion };
      const envelope = cipher.encryptSync(parent[leaf], binding);
      if (envelope === undefined) {
        return cipher.encrypt(parent[leaf], binding).then((made) => {
          put(parent, leaf, path, made);
          return from(i + 1);
        });
      }
      put(parent, leaf, path, envelope);
    }
    if (done.length === 0) return event;
    const out = { ...event, metadata } as unknown as Record<string, unknown>;
    if (v2) {
      const security = isObject(event.security) ? event.security : undefined;
      out.security = {
        key_id: security?.key_id ?? keyId,
        algorithm: security?.algorithm ?? 'aes-256-gcm',
        signature: security?.signature ?? null,
        encrypted_fields: done,
      };
    }
    return out as unknown as E;
  };
  return from(0);
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

/** Every ciphertext envelope in the event's metadata, with its path. */
export function findEnvelopes(event: EventLike): { path: string; envelope: CiphertextEnvelope }[] {
  const found: { path: string; envelope: CiphertextEnvelope }[] = [];
  const walk = (value: unknown, path: string): void => {
    const envelope = readEnvelope(value);
    if (envelope !== undefined) {
      found.push({ path, envelope });
      return;
    }
    if (isObject(value)) for (const [key, child] of Object.entries(value)) walk(child, `${path}.${key}`);
  };
  const metadata = untypedBranch(event.metadata);
  if (isObject(metadata)) walk(metadata, 'metadata');
  return found;
}

/**
 * A copy of `event` with every ciphertext envelope in its metadata decrypted (whatever version the event was
 * upcast or downcast to since). Throws the cipher's ONEX error on the first field that does not decrypt.
 * Synchronous while the key's facts and the data key are cached (FieldCipher.decryptSync), else a promise.
 */
export function decryptEventFieldsNow<E extends EventLike>(event: E, cipher: FieldCipher): E | Promise<E> {
  const found = findEnvelopes(event);
  if (found.length === 0) return event;
  const whole: Record<string, unknown> = { ...(event.metadata as Record<string, unknown>) };
  const copied = new Set<object>([whole]);
  let metadata = whole;
  if (untypedBranch(event.metadata) !== event.metadata) {
    metadata = { ...(whole.untyped as Record<string, unknown>) };
    copied.add(metadata);
    whole.untyped = metadata;
  }
  const put = (path: string, value: unknown): void => {
    const parts = path.split('.').slice(1);
    const parent = parentOnCopy(metadata, parts, copied) as Record<string, unknown>;
    parent[parts[parts.length - 1] as string] = value;
  };
  const from = (first: number): E | Promise<E> => {
    for (let i = first; i < found.length; i++) {
      const { path, envelope } = found[i]!;
      const binding = { eventId: event.event_id, eventType: event.event_type, path };
      const opened = cipher.decryptSync(envelope, binding);
      if (opened === undefined) {
        return cipher.decrypt(envelope, binding).then((value) => {
          put(path, value);
          return from(i + 1);
        });
      }
      put(path, opened.value);
    }
    const out = { ...event, metadata: whole } as unknown as Record<string, unknown>;
    if (isObject(event.security) && Array.isArray(event.security.encrypted_fields)) {
      out.security = { ...event.security, encrypted_fields: [] };
    }
    return out as unknown as E;
  };
  return from(0);
}

/** decryptEventFieldsNow, always as a promise. */
export async function decryptEventFields<E extends EventLike>(event: E, cipher: FieldCipher): Promise<E> {
  return decryptEventFieldsNow(event, cipher);
}
