/**
 * The package root, `onex-events`: what a service needs to emit events and a worker needs to consume them. Each name
 * here is a choice; docs/api.md lists them and a unit test compares the two, so an export added or removed by
 * accident shows up as a failing test. Everything else is reached through a module's own subpath
 * (`onex-events/producer`, `/worker`, `/registry`, `/schema`, `/event`, `/errors`, `/flags`, `/telemetry`).
 */

// The producer SDK.
export { OnexProducer, isRetriableEmitError, PRODUCER_DEFAULTS } from './producer/index.js';
export type { EmitResult, OnexProducerOptions, OverflowPolicy } from './producer/index.js';

// The stream worker.
export { createWorker, loadHandlerModule, redriveDeadLetters } from './worker/index.js';
export type { EventHandler, HandlerContext, HandlerMap, HandlerModule, Worker, WorkerOptions, WorkerStats } from './worker/index.js';

// The codec and the registry client.
export { OnexEventCodec, registryFromClient, registryFromUrl } from './codec/index.js';
export type { DecodedEvent, EventCodecOptions, KafkaOption, RegistryOption, SchemaRegistryLike } from './codec/index.js';
export { RegistryClient } from './registry/index.js';
export type { RegistryClientOptions } from './registry/index.js';

// Errors.
export { codeInfo, isOnexError, ONEX_CODES, OnexError } from './errors/index.js';
export type { OnexCode, OnexCodeInfo } from './errors/index.js';

// Events: types, versions and validation.
export { ALL_EVENT_TYPES, LATEST_VERSION, SCHEMA_VERSIONS, nowTimestamp, validateEvent } from './event/index.js';
export type { AnyOnexEvent, OnexEventType, OnexEventV1, OnexEventV2_0, SchemaVersion, ValidationIssue, ValidationResult } from './event/index.js';

// The schema toolkit.
export { checkCompatibility, detectVersion, loadSchema, transformEvent } from './schema/index.js';
export type { CompatibilityMode, CompatibilityResult } from './schema/index.js';

// Feature flags.
export { flags, FileFlagProvider, FlagSet } from './flags/index.js';
export type { FlagDefinition, FlagValue } from './flags/index.js';
