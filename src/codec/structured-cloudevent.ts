import type { IHeaders } from 'kafkajs';
import {
  CE_HEADERS,
  CE_SPEC_VERSION,
  CE_STRUCTURED_CONTENT_TYPE,
  CE_TYPE_PREFIX,
  isPlainObject,
  onexError,
  validateEvent,
  type SchemaVersion,
} from '../event/index.js';
import { transformEvent } from '../schema/index.js';
import type { DecodedEvent } from './types.js';

/**
 * CloudEvents structured content mode (Kafka protocol binding): the record value is one JSON CloudEvent, the header
 * `content-type` says `application/cloudevents+json`, and the ONEX event is the CloudEvent's `data`. These records come
 * from producers that are not ours (a CloudEvents SDK, a bridge), so no registry schema stands behind them: the data is
 * validated as a JSON ONEX event (validateEvent, strict, whatever the worker's validation mode) and then upcast or
 * downcast to the worker's target version like any other event.
 */

/** The schema id a handler sees for an event that came as a structured CloudEvent: none (registry ids start at 1). */
export const STRUCTURED_SCHEMA_ID = 0;

const CONTENT_TYPE = CE_HEADERS.contentType;

/** Whether the record's headers say structured mode (`content-type: application/cloudevents+json[; charset=...]`). */
export function isStructuredCloudEvent(headers: IHeaders | undefined): boolean {
  let v = headers?.[CONTENT_TYPE];
  if (Array.isArray(v)) v = v[0];
  if (v === undefined) return false;
  const text = typeof v === 'string' ? v : v.toString('latin1');
  return text.trim().toLowerCase().startsWith(CE_STRUCTURED_CONTENT_TYPE);
}

/** The parts of a structured CloudEvent the worker uses, once the envelope checked out. */
export interface StructuredCloudEvent {
  id: string;
  source: string;
  type: string;
  /** The CloudEvent's data: still unchecked as an ONEX event (see structuredEvent). */
  data: Record<string, unknown>;
}

/**
 * Reads the envelope: ONEX_EVENT_613 when the value is not a CloudEvents 1.0 JSON object with id, source and type,
 * ONEX_EVENT_614 when its data cannot be an ONEX event (none, binary data_base64, a non-JSON datacontenttype, not an
 * object).
 */
export function readStructuredCloudEvent(value: Buffer): StructuredCloudEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (cause) {
    throw onexError('ONEX_EVENT_613', `The record says ${CE_STRUCTURED_CONTENT_TYPE} but its value is not JSON (${(cause as Error).message}).`, { cause });
  }
  if (!isPlainObject(parsed)) throw onexError('ONEX_EVENT_613', 'A structured CloudEvent must be a JSON object.');
  if (parsed.specversion !== CE_SPEC_VERSION) {
    throw onexError('ONEX_EVENT_613', `The CloudEvent's specversion must be "${CE_SPEC_VERSION}", not ${JSON.stringify(parsed.specversion) ?? 'missing'}.`, {
      details: { attribute: 'specversion' },
    });
  }
  for (const attribute of ['id', 'source', 'type'] as const) {
    const v = parsed[attribute];
    if (typeof v !== 'string' || v.length === 0) {
      throw onexError('ONEX_EVENT_613', `The CloudEvent has no ${attribute} (a non-empty string is required).`, { details: { attribute } });
    }
  }
  const contentType = parsed.datacontenttype;
  if (contentType !== undefined && !(typeof contentType === 'string' && isJsonContentType(contentType))) {
    throw onexError('ONEX_EVENT_614', `The CloudEvent's datacontenttype is ${JSON.stringify(contentType)}; an ONEX event is carried as JSON data.`, {
      details: { attribute: 'datacontenttype' },
    });
  }
  const data = parsed.data;
  if (data === undefined && parsed.data_base64 !== undefined) {
    throw onexError('ONEX_EVENT_614', 'The CloudEvent carries binary data (data_base64); an ONEX event is carried as a JSON object in data.', {
      details: { attribute: 'data_base64' },
    });
  }
  if (!isPlainObject(data)) {
    throw onexError('ONEX_EVENT_614', `The CloudEvent's data must be an ONEX event (a JSON object), not ${data === undefined ? 'missing' : Array.isArray(data) ? 'an array' : typeof data}.`, {
      details: { attribute: 'data' },
    });
  }
  return { id: parsed.id as string, source: parsed.source as string, type: parsed.type as string, data };
}

/**
 * The ONEX event of a structured CloudEvent in `targetVersion`: its data validated (ONEX_VALID_1xx, strict), its type
 * agreeing with the event's (a type in the onex. namespace must be onex.<event_type>, else ONEX_EVENT_614), then
 * transformed to the target version (ONEX_SCHEMA_70x when it cannot be).
 */
export function structuredEvent(ce: StructuredCloudEvent, targetVersion: SchemaVersion): DecodedEvent<object> {
  const { version } = validateEvent(ce.data, { mode: 'strict' });
  if (version === undefined) throw onexError('ONEX_EVENT_614', "The CloudEvent's data names no ONEX schema version this pipeline knows.");
  const eventType = ce.data.event_type as string;
  if (ce.type.startsWith(CE_TYPE_PREFIX) && ce.type !== `${CE_TYPE_PREFIX}${eventType}`) {
    throw onexError('ONEX_EVENT_614', `The CloudEvent's type ${ce.type} disagrees with its data's event_type ${eventType}.`, {
      details: { attribute: 'type', eventType },
    });
  }
  return { event: transformEvent(ce.data, targetVersion), writerVersion: version, schemaId: STRUCTURED_SCHEMA_ID };
}

function isJsonContentType(type: string): boolean {
  const media = type.split(';')[0]!.trim().toLowerCase();
  return media === 'application/json' || media.endsWith('+json') || media === 'text/json';
}
