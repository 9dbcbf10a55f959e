import type { UnknownEventType } from './event-types.js';
import type {
  EventTypeV2_0,
  NodeFailureMetadata,
  NodeStartMetadata,
  NodeSuccessMetadata,
  OnexEventRecordV1_0,
  OnexEventRecordV1_1,
  OnexEventRecordV1_2,
  OnexEventRecordV1_3,
  OnexEventRecordV2_0,
  PerformanceProfileMetadata,
  TelemetryOperationErrorMetadata,
  TelemetryOperationStartMetadata,
  TelemetryOperationSuccessMetadata,
  UntypedMetadata,
} from './generated/schema-types.js';

/**
 * The OnexEvent of each schema version, in its "event form": the shape application code builds, handlers receive,
 * validation checks and `JSON.stringify` prints. It is also exactly the ONEX JSON event. The Avro codec in
 * src/schema maps it to and from the binary encoding (timestamps: ISO-8601 text here, timestamp-micros on the wire;
 * JSON payloads: values here, JSON text on the wire).
 *
 * Optional fields may be left out when building an event; a decoded event has every field, null when absent.
 */

export type { IsoTimestamp, JsonObject, JsonValue } from './json.js';

// The records of every version are generated from avro/ (src/event/generated/schema-types.ts, `npm run gen:schema`).
export type OnexEventV1_0 = OnexEventRecordV1_0;
export type OnexEventV1_1 = OnexEventRecordV1_1;
export type OnexEventV1_2 = OnexEventRecordV1_2;
export type OnexEventV1_3 = OnexEventRecordV1_3;

export type OnexEventV1 = OnexEventV1_0 | OnexEventV1_1 | OnexEventV1_2 | OnexEventV1_3;

export type {
  ErrorInfo,
  ErrorRecoverability,
  ErrorSeverity,
  NodeFailureMetadata,
  NodeStartMetadata,
  NodeSuccessMetadata,
  PerformanceProfileMetadata,
  ReplayMarker,
  SecurityBlock,
  TelemetryOperationErrorMetadata,
  TelemetryOperationStartMetadata,
  TelemetryOperationSuccessMetadata,
  TraceContext,
  UntypedMetadata,
} from './generated/schema-types.js';

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

type EnvelopeV2_0 = Omit<OnexEventRecordV2_0, 'event_type' | 'metadata'>;

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
