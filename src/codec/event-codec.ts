import { asOnexError, isOnexError, onexError } from '../errors/index.js';
import { RegistryClient, WIRE_HEADER_BYTES, readWireFormat, writeWireHeader, type RegistryClientOptions } from '../registry/index.js';
import {
  createDecoder,
  detectSchemaVersion,
  encodeEvent,
  schemaText,
  type DecodeFunction,
  type SchemaVersion,
} from '../schema/index.js';
import type { DecodedEvent, EventDecoder, SchemaRegistryLike } from './types.js';

export interface EventCodecOptions {
  registry: SchemaRegistryLike;
  /**
   * Registry subject of a version. Default: one subject per major, `onex-event-v1` and `onex-event-v2`, so the
   * registry enforces compatibility within a major and the transform layer bridges majors.
   */
  subjectFor?: (version: SchemaVersion) => string;
}

export function defaultSubjectFor(version: SchemaVersion): string {
  return `onex-event-v${version.split('.')[0]}`;
}

type DecoderEntry = { readonly decode: DecodeFunction; readonly writerVersion: SchemaVersion };

interface WriterInfo {
  text: string;
  version: SchemaVersion;
}

/**
 * The junction of schema, registry and Kafka: ONEX events to and from Confluent wire-format record values.
 *
 * Encoding is synchronous once a version is prepared (its schema registered once and its id cached), so the producer's
 * hot path does no I/O. Decoding fetches each writer schema once per id, detects the writer's version from that
 * schema, and caches one decoder per (schema id, target version) that resolves and upcasts or downcasts in one pass.
 */
export class OnexEventCodec implements EventDecoder {
  private readonly registry: SchemaRegistryLike;
  private readonly subjectFor: (version: SchemaVersion) => string;
  private readonly ids = new Map<SchemaVersion, number>();
  private readonly preparing = new Map<SchemaVersion, Promise<number>>();
  private readonly writers = new Map<number, Promise<WriterInfo>>();
  /** By writer schema id, then target version. */
  private readonly decoders = new Map<number, Map<SchemaVersion, DecoderEntry>>();
  /** Per schema id, the decoder to the version it was written in (decodeWritten), once the writer is known. */
  private readonly writtenDecoders = new Map<number, DecoderEntry>();

  constructor(options: EventCodecOptions) {
    this.registry = options.registry;
    this.subjectFor = options.subjectFor ?? defaultSubjectFor;
  }

  /** Registers the writer schema of `version` once and caches its id; concurrent calls share one request. */
  prepare(version: SchemaVersion): Promise<number> {
    const known = this.ids.get(version);
    if (known !== undefined) return Promise.resolve(known);
    let pending = this.preparing.get(version);
    if (!pending) {
      pending = this.registry
        .register(this.subjectFor(version), schemaText(version))
        .then((id) => {
          this.ids.set(version, id);
          return id;
        })
        .finally(() => this.preparing.delete(version));
      this.preparing.set(version, pending);
    }
    return pending;
  }

  /** The registered id of a prepared version, or undefined. */
  schemaIdOf(version: SchemaVersion): number | undefined {
    return this.ids.get(version);
  }

  /** Event -> wire format. Throws ONEX_EVENT_603 when the event does not fit the schema of `version`. */
  encode(event: object, version: SchemaVersion): Buffer {
    const id = this.ids.get(version);
    if (id === undefined) {
      throw onexError('ONEX_EVENT_603', `Schema ${version} is not registered yet: call prepare('${version}') before encode.`);
    }
    let framed: Buffer;
    try {
      // The body is encoded behind room for the header: one buffer, no second copy.
      framed = encodeEvent(event, version, WIRE_HEADER_BYTES);
    } catch (err) {
      throw asOnexError(err, 'ONEX_EVENT_603', `The event does not fit schema ${version}: ${(err as Error).message}`);
    }
    return writeWireHeader(framed, id);
  }

  /**
   * Wire format -> event in `targetVersion`. Fails with ONEX_EVENT_604 (not wire format, truncated or corrupt body),
   * ONEX_EVENT_605 (the registry does not know the schema id), ONEX_SCHEMA_701 (a newer major than this pipeline
   * knows), ONEX_REG_206 (registry unreachable: retriable).
   */
  async decode<E = Record<string, unknown>>(value: Buffer | null | undefined, targetVersion: SchemaVersion): Promise<DecodedEvent<E>> {
    const { schemaId, body } = readWireFormat(value);
    let entry = this.decoders.get(schemaId)?.get(targetVersion);
    if (!entry) {
      const writer = await this.writerOf(schemaId);
      entry = this.decoderFor(schemaId, targetVersion, writer);
    }
    return this.decodeWith(entry, schemaId, body);
  }

  /**
   * decode() without a promise, for when the writer schema is known already (nearly every record of a stream):
   * undefined when it is not, then decode() fetches it. Throws what decode() throws for bytes that do not decode.
   */
  decodeSync<E = Record<string, unknown>>(value: Buffer | null | undefined, targetVersion: SchemaVersion): DecodedEvent<E> | undefined {
    const { schemaId, body } = readWireFormat(value);
    const entry = this.decoders.get(schemaId)?.get(targetVersion);
    return entry ? this.decodeWith(entry, schemaId, body) : undefined;
  }

  /** decodeWritten() without a promise when the writer schema is known already; undefined when it is not. */
  decodeWrittenSync<E = Record<string, unknown>>(value: Buffer | null | undefined): DecodedEvent<E> | undefined {
    const { schemaId, body } = readWireFormat(value);
    const entry = this.writtenDecoders.get(schemaId);
    return entry ? this.decodeWith(entry, schemaId, body) : undefined;
  }

  /** Wire format -> event in the version it was written in; fails as decode() does. */
  async decodeWritten<E = Record<string, unknown>>(value: Buffer | null | undefined): Promise<DecodedEvent<E>> {
    const { schemaId, body } = readWireFormat(value);
    let entry = this.writtenDecoders.get(schemaId);
    if (!entry) {
      const writer = await this.writerOf(schemaId);
      entry = this.decoderFor(schemaId, writer.version, writer);
      this.writtenDecoders.set(schemaId, entry);
    }
    return this.decodeWith(entry, schemaId, body);
  }

  private decoderFor(schemaId: number, targetVersion: SchemaVersion, writer: WriterInfo): DecoderEntry {
    let byTarget = this.decoders.get(schemaId);
    if (!byTarget) this.decoders.set(schemaId, (byTarget = new Map()));
    let entry = byTarget.get(targetVersion);
    if (!entry) byTarget.set(targetVersion, (entry = { decode: createDecoder(writer.text, targetVersion), writerVersion: writer.version }));
    return entry;
  }

  private decodeWith<E>(entry: DecoderEntry, schemaId: number, body: Buffer): DecodedEvent<E> {
    let event: unknown;
    try {
      event = entry.decode(body);
    } catch (err) {
      // The schema layer says ONEX_EVENT_603 (serialization failed) for bytes that do not decode; for a record that
      // means its payload is not what its header claims, which is ONEX_EVENT_604. Other codes (a transform that
      // cannot run, ONEX_SCHEMA_7xx) pass through.
      if (isOnexError(err) && err.code !== 'ONEX_EVENT_603') throw err;
      throw onexError(
        'ONEX_EVENT_604',
        `The body of a record with schema id ${schemaId} does not decode as that schema: it is truncated or corrupt (${(err as Error).message})`,
        { cause: err, details: { schemaId } },
      );
    }
    return { event: event as E, writerVersion: entry.writerVersion, schemaId };
  }

  private writerOf(schemaId: number): Promise<WriterInfo> {
    let pending = this.writers.get(schemaId);
    if (!pending) {
      pending = this.fetchWriter(schemaId);
      this.writers.set(schemaId, pending);
      // A failed lookup is not cached: the registry may answer next time (or the id may be registered by then).
      pending.catch(() => this.writers.delete(schemaId));
    }
    return pending;
  }

  private async fetchWriter(schemaId: number): Promise<WriterInfo> {
    let text: string;
    try {
      text = await this.registry.getSchema(schemaId);
    } catch (err) {
      if (isOnexError(err) && err.code === 'ONEX_REG_200') {
        throw onexError('ONEX_EVENT_605', `Schema id ${schemaId} is not known to the schema registry, so the record cannot be decoded.`, {
          cause: err,
          details: { schemaId },
        });
      }
      throw asOnexError(err, 'ONEX_REG_206', `The schema registry could not be asked for schema id ${schemaId}: ${(err as Error).message}`);
    }
    const detected = detectSchemaVersion(text);
    return { text, version: detected.version };
  }
}

/** A SchemaRegistryLike over our cached, retrying registry client. */
export function registryFromClient(client: RegistryClient): SchemaRegistryLike {
  return {
    register: (subject, schema) => client.register(subject, schema),
    getSchema: async (id) => (await client.getSchema(id)).schema,
  };
}

/** A SchemaRegistryLike for a Confluent-compatible registry at `url` (SCHEMA_REGISTRY_URL). */
export function registryFromUrl(url: string, options: Omit<RegistryClientOptions, 'url'> = {}): SchemaRegistryLike {
  return registryFromClient(new RegistryClient({ url, ...options }));
}
