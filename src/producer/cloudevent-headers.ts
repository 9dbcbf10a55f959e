import { CE_AVRO_CONTENT_TYPE, CE_HEADERS, CE_SPEC_VERSION, cloudEventSource, cloudEventType } from '../event/index.js';
import type { PreparedRecord } from './prepare.js';

/** Bounded caches: node ids and event types repeat, and a misbehaving emitter must not grow them without limit. */
const CACHE_LIMIT = 256;

const SPEC_VERSION = Buffer.from(CE_SPEC_VERSION);
const CONTENT_TYPE = Buffer.from(CE_AVRO_CONTENT_TYPE);
/** Header names and the values that are the same for every record. */
const FIXED_BYTES = Object.values(CE_HEADERS).reduce((n, name) => n + name.length, 0) + SPEC_VERSION.length + CONTENT_TYPE.length;

/** What a header value is handed to the record batch encoder as: bytes, or a string it writes as UTF-8. */
export type HeaderValue = Buffer | string;

/**
 * A header value whose bytes are the string's Latin-1 bytes (ids, timestamps, trace contexts: what readers decode with
 * 'latin1'). An ASCII string stays a string, which the one-pass record batch encoder writes in place (its UTF-8 bytes
 * are its Latin-1 bytes), instead of a Buffer made per record; anything else keeps its Latin-1 bytes in a Buffer.
 * Either way the value is `s.length` bytes on the wire.
 */
export function latin1Header(s: string): HeaderValue {
  return Buffer.byteLength(s, 'utf8') === s.length ? s : Buffer.from(s, 'latin1');
}

/**
 * CloudEvents binary content mode (Kafka protocol binding) headers of one record; see src/event/cloudevents.ts for the
 * mapping. The constant parts are Buffers made once; source and type are cached per node and per event type; the
 * values that change per record (id, time, subject, traceparent) stay strings (see latin1Header).
 */
export class CloudEventHeaders {
  private readonly sources = new Map<string, Buffer>();
  private readonly types = new Map<string, Buffer>();

  constructor(private readonly schemaVersion: Buffer) {}

  /**
   * Adds the headers to `headers`; returns the bytes they add (names and values), for the size accounting.
   * `traceparent` is the value the record's own traceparent header carries.
   */
  add(headers: Record<string, HeaderValue>, p: PreparedRecord, traceparent: HeaderValue | undefined): number {
    const source = cached(this.sources, p.nodeId, cloudEventSource);
    const type = cached(this.types, p.eventType, cloudEventType);
    headers[CE_HEADERS.specversion] = SPEC_VERSION;
    headers[CE_HEADERS.id] = latin1Header(p.eventId);
    headers[CE_HEADERS.source] = source;
    headers[CE_HEADERS.type] = type;
    headers[CE_HEADERS.contentType] = CONTENT_TYPE;
    headers[CE_HEADERS.schemaVersion] = this.schemaVersion;
    let bytes = FIXED_BYTES + p.eventId.length + source.length + type.length + this.schemaVersion.length;
    if (p.timestamp) {
      headers[CE_HEADERS.time] = latin1Header(p.timestamp);
      bytes += p.timestamp.length;
    } else bytes -= CE_HEADERS.time.length;
    if (p.correlationId) {
      // UTF-8, as a string: the encoder writes a string's UTF-8 bytes.
      headers[CE_HEADERS.subject] = p.correlationId;
      bytes += Buffer.byteLength(p.correlationId, 'utf8');
    } else bytes -= CE_HEADERS.subject.length;
    if (traceparent !== undefined) {
      headers[CE_HEADERS.traceparent] = traceparent;
      bytes += traceparent.length;
    } else bytes -= CE_HEADERS.traceparent.length;
    return bytes;
  }
}

function cached(cache: Map<string, Buffer>, key: string, make: (key: string) => string): Buffer {
  let b = cache.get(key);
  if (!b) {
    b = Buffer.from(make(key), 'utf8');
    if (cache.size < CACHE_LIMIT) cache.set(key, b);
  }
  return b;
}
