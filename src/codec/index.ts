export { OnexEventCodec, defaultSubjectFor, registryFromClient, registryFromUrl } from './event-codec.js';
export type { EventCodecOptions } from './event-codec.js';
export { connectionFromEnv, isKafkaClient, registryFromEnv, resolveKafkaOption, resolveRegistryOption } from './connection.js';
export type { EnvConnection, KafkaOption, RegistryAuth, RegistryOption } from './connection.js';
export type { DecodedEvent, EventDecoder, SchemaRegistryLike } from './types.js';
export { isStructuredCloudEvent, readStructuredCloudEvent, structuredEvent, STRUCTURED_SCHEMA_ID, type StructuredCloudEvent } from './structured-cloudevent.js';
// The wire format lives with the registry client; the codec re-exports it for its users.
export { MAGIC_BYTE, WIRE_HEADER_BYTES, readWireFormat, writeWireFormat, writeWireHeader, type WireFrame } from '../registry/index.js';
export { registerSchemaEngineMetrics } from './engine-metrics.js';
