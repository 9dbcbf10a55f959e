/**
 * Public face of the registry module: the Confluent-compatible schema registry server (REST API, Kafka-backed or
 * in-memory store) and the cached client the producer and worker use.
 */
export { RegistryClient } from './client.js';
export type { RegistryClientOptions } from './client.js';
export type { BasicAuthOptions, CompatibilityAnswer, RegisteredSchema, RunningRegistry, SchemaInput, SubjectVersionInfo } from './types.js';
export { createRegistryServer, DEFAULT_BODY_LIMIT, SCHEMA_REGISTRY_CONTENT_TYPE } from './server.js';
export type { RegistryServer, RegistryServerOptions } from './server.js';
export { startRegistry } from './serve.js';
export type { StartRegistryOptions } from './serve.js';
export { KafkaStore, DEFAULT_SCHEMAS_TOPIC } from './kafka-store.js';
export type { KafkaStoreOptions } from './kafka-store.js';
export { MemoryStore } from './memory-store.js';
export type { RegistryStore, WritePlan } from './store.js';
export { RegistryState, COMPATIBILITY_LEVELS, DEFAULT_COMPATIBILITY } from './state.js';
export type { CompatibilityLevel, RegistryMode, SchemaReference } from './state.js';
export { RegistryHttpError } from './http-errors.js';
export { parseAvro } from './avro.js';
export { MAGIC_BYTE, WIRE_HEADER_BYTES, readWireFormat, writeWireFormat, writeWireHeader } from './wire-format.js';
export type { WireFrame } from './wire-format.js';
