/**
 * How an ONEX event maps onto CloudEvents 1.0 (the Kafka protocol binding): the attributes, the extension names and
 * the content types. The producer writes binary content mode (ce_* headers beside the Avro value); the worker also
 * reads structured content mode (application/cloudevents+json) from producers that are not ours.
 *
 *   specversion        1.0
 *   id                 event_id
 *   source             urn:onex:node:<node_id>     (a URI naming the node that emitted the event)
 *   type               onex.<event_type>           (e.g. onex.NODE_START)
 *   time               timestamp                   (RFC 3339)
 *   subject            correlation_id              (left out when the event has none)
 *   datacontenttype    application/avro            (the value: Confluent wire format, 5-byte schema id + Avro body)
 *   onexschemaversion  the ONEX schema version the value is written in
 *   traceparent        the W3C traceparent (the distributed tracing extension), the same value as our header
 */
export const CE_SPEC_VERSION = '1.0';
export const CE_TYPE_PREFIX = 'onex.';
export const CE_SOURCE_PREFIX = 'urn:onex:node:';
/** The Kafka binding's header for datacontenttype is `content-type`; ours is Avro in the Confluent wire format. */
export const CE_AVRO_CONTENT_TYPE = 'application/avro';
export const CE_STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';

export const CE_HEADERS = Object.freeze({
  specversion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  time: 'ce_time',
  subject: 'ce_subject',
  schemaVersion: 'ce_onexschemaversion',
  traceparent: 'ce_traceparent',
  contentType: 'content-type',
});

export function cloudEventSource(nodeId: string): string {
  return `${CE_SOURCE_PREFIX}${encodeURIComponent(nodeId)}`;
}

export function cloudEventType(eventType: string): string {
  return `${CE_TYPE_PREFIX}${eventType}`;
}
