import type { EventTypeV1_0, EventTypeV1_1, EventTypeV1_3, EventTypeV2_0, UnknownEventType } from './event-types.js';

/**
 * The OnexEvent of each schema version, in its "event form": the shape application code builds, handlers receive,
 * validation checks and `JSON.stringify` prints. It is also exactly the ONEX JSON event. The Avro codec in
 * src/schema maps it to and from the binary encoding (timestamps: ISO-8601 text here, timestamp-micros on the wire;
 * JSON payloads: values here, JSON text on the wire).
 *
 * Optional fields may be left out when building an event; a decoded event has every field, null when absent.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** ISO-8601 date-time in UTC with up to microsecond precision, e.g. 2025-05-25T14:17:21.178483Z. */
export type IsoTimestamp = string;

export interface OnexEventV1_0 {
  event_id: string;
  timestamp: IsoTimestamp;
  node_id: string;
  event_type: EventTypeV1_0 | UnknownEventType;
  correlation_id?: string | null;
  /** Event-specific payload; rules per event type in metadata-rules.ts. */
  metadata?: JsonObject | null;
}

export interface OnexEventV1_1 extends Omit<OnexEventV1_0, 'event_type'> {
  event_type: EventTypeV1_1 | UnknownEventType;
  /** Absent means 1.0.0. */
  schema_version?: string;
  error_code?: string | null;
  parent_correlation_id?: string | null;
  trace_id?: string | null;
}

export interface OnexEventV1_2 extends OnexEventV1_1 {
  /** Sampling rate applied to this event's type, 0 < rate <= 1; default 1. */
  sample_rate?: number;
}

export interface ReplayMarker {
  original_event_id: string;
  replayed_at: IsoTimestamp;
  speed?: number;
  replay_id?: string | null;
}

export interface OnexEventV1_3 extends Omit<OnexEventV1_2, 'event_type'> {
  event_type: EventTypeV1_3 | UnknownEventType;
  replay?: ReplayMarker | null;
}

export type OnexEventV1 = OnexEventV1_0 | OnexEventV1_1 | OnexEventV1_2 | OnexEventV1_3;

// ---- 2.0.0: typed metadata, trace context, error and security records ----

/** W3C trace context. trace_id is expected as 32 lowercase hex digits; ids upcast from 1.x are carried verbatim. */
export interface TraceContext {
  trace_id: string;
  span_id?: string | null;
  trace_flags?: number;
}

export type ErrorSeverity = 'CRITICAL' | 'ERROR' | 'WARNING' | 'INFO';
export type ErrorRecoverability = 'No' | 'Yes' | 'Retry';

/** The error an event reports; severity and recoverability come from the ONEX registry when the code is known. */
export interface ErrorInfo {
  code: string;
  severity?: ErrorSeverity | null;
  recoverable?: ErrorRecoverability | null;
}

export interface SecurityBlock {
  key_id: string;
  algorithm: string;
  /** Base64 signature over the envelope, null when the event is only encrypted. */
  signature?: string | null;
  /** Metadata paths whose values are encrypted. */
  encrypted_fields?: string[];
}

/** Every typed metadata record keeps the keys the standard does not name in `extra`, so nothing is lost. */
interface WithExtra {
  extra?: JsonObject | null;
}

export interface NodeStartMetadata extends WithExtra {
  input_state: JsonObject;
  node_version?: string | null;
  operation_type?: string | null;
}

export interface NodeSuccessMetadata extends WithExtra {
  input_state: JsonObject;
  output_state: JsonObject;
  execution_time_ms?: number | null;
  result_summary?: string | null;
}

export interface NodeFailureMetadata extends WithExtra {
  input_state: JsonObject;
  error: string;
  error_type?: string | null;
  error_code?: string | null;
  execution_time_ms?: number | null;
  stack_trace?: string | null;
}

export interface TelemetryOperationStartMetadata extends WithExtra {
  operation: string;
  function: string;
  args_count?: number | null;
  kwargs_keys?: string[] | null;
  context?: JsonObject | null;
}

export interface TelemetryOperationSuccessMetadata extends WithExtra {
  operation: string;
  function: string;
  execution_time_ms: number;
  result_type?: string | null;
  success?: boolean | null;
  performance_metrics?: JsonObject | null;
}

export interface TelemetryOperationErrorMetadata extends WithExtra {
  operation: string;
  function: string;
  execution_time_ms: number;
  error_type: string;
  error_message: string;
  success?: boolean | null;
  error_code?: string | null;
  recoverable?: boolean | null;
}

export interface PerformanceProfileMetadata extends WithExtra {
  operation: string;
  duration_ms: number;
  cpu_time_ms?: number | null;
  memory_peak_bytes?: number | null;
  sample_count?: number | null;
  breakdown?: JsonObject | null;
}

/**
 * Metadata of event types without a standard, and metadata that does not meet its type's standard (a non-strict
 * producer let it through): carried as it is, so that upcasting never loses or refuses an event.
 */
export interface UntypedMetadata {
  untyped: JsonObject;
}

export interface TypedMetadataByEventType {
  NODE_START: NodeStartMetadata;
  NODE_SUCCESS: NodeSuccessMetadata;
  NODE_FAILURE: NodeFailureMetadata;
  TELEMETRY_OPERATION_START: TelemetryOperationStartMetadata;
  TELEMETRY_OPERATION_SUCCESS: TelemetryOperationSuccessMetadata;
  TELEMETRY_OPERATION_ERROR: TelemetryOperationErrorMetadata;
  PERFORMANCE_PROFILE: PerformanceProfileMetadata;
}
export type TypedEventType = keyof TypedMetadataByEventType;
export type TypedMetadata = TypedMetadataByEventType[TypedEventType];
export type MetadataV2 = TypedMetadata | UntypedMetadata;

interface EnvelopeV2_0 {
  event_id: string;
  timestamp: IsoTimestamp;
  node_id: string;
  schema_version: string;
  correlation_id?: string | null;
  parent_correlation_id?: string | null;
  trace?: TraceContext | null;
  error?: ErrorInfo | null;
  sample_rate?: number;
  replay?: ReplayMarker | null;
  security?: SecurityBlock | null;
}

/** A 2.0.0 event: `event_type` discriminates the metadata record, so `if (e.event_type === 'NODE_START')` narrows. */
export type OnexEventV2_0 = {
  [T in EventTypeV2_0 | UnknownEventType]: EnvelopeV2_0 & {
    event_type: T;
    metadata?: (T extends TypedEventType ? TypedMetadataByEventType[T] : never) | UntypedMetadata | null;
  };
}[EventTypeV2_0 | UnknownEventType];

export type AnyOnexEvent = OnexEventV1 | OnexEventV2_0;

export interface OnexEventByVersion {
  '1.0.0': OnexEventV1_0;
  '1.1.0': OnexEventV1_1;
  '1.2.0': OnexEventV1_2;
  '1.3.0': OnexEventV1_3;
  '2.0.0': OnexEventV2_0;
}
