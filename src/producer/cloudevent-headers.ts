import { CE_AVRO_CONTENT_TYPE, CE_HEADERS, CE_SPEC_VERSION, cloudEventSource, cloudEventType } from '../event/index.js';
import type { PreparedRecord } from './prepare.js';

/** Bounded caches: node ids and event types repeat, and a misbehaving emitter must not grow them without limit. */
const CACHE_LIMIT = 256;

const SPEC_VERSION = Buffer.from(CE_SPEC_VERSION);
const CONTENT_TYPE = Buffer.from(CE_AVRO_CONTENT_TYPE);
/** Header names and the values that are the same for every record. */
const FIXED_BYTES = Object.values(CE_HEADERS).reduce((n, name) => n + name.length, 0) + SPEC_VERSION.length + CONTENT_TYPE.length;

/**
 * CloudEvents binary content mode (Kafka protocol binding) headers of one record; see src/event/cloudevents.ts for the
 * mapping. The constant parts are Buffers made once; source and type are cached per node and per event type.
 */
export class CloudEventHeaders {
  private readonly sources = new Map<string, Buffer>();
  private readonly types = new Map<string, Buffer>();

  constructor(private readonly schemaVersion: Buffer) {}

  /** Adds the headers to `headers`; returns the bytes they add (names and values), for the size accounting. */
  add(headers: Record<string, Buffer>, p: PreparedRecord, traceparent: Buffer | undefined): number {
    const id = Buffer.from(p.eventId, 'latin1');
    const source = cached(this.sources, p.nodeId, cloudEventSource);
    const type = cached(this.types, p.eventType, cloudEventType);
    headers[CE_HEADERS.specversion] = SPEC_VERSION;
    headers[CE_HEADERS.id] = id;
    headers[CE_HEADERS.source] = source;
    headers[CE_HEADERS.type] = type;
    headers[CE_HEADERS.contentType] = CONTENT_TYPE;
    headers[CE_HEADERS.schemaVersion] = this.schemaVersion;
    let bytes = FIXED_BYTES + id.length + source.length + type.length + this.schemaVersion.length;
    if (p.timestamp) {
      const time = Buffer.from(p.timestamp, 'latin1');
      headers[CE_HEADERS.time] = time;
      bytes += time.length;
    } else bytes -= CE_HEADERS.time.length;
    if (p.correlationId) {
      const subject = Buffer.from(p.correlationId, 'utf8');
      headers[CE_HEADERS.subject] = subject;
      bytes += subject.length;
    } else bytes -= CE_HEADERS.subject.length;
    if (traceparent) {
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
