/**
 * Public face of the worker module: the stream worker runtime (fetch, then the record stages decode (detect, upcast)
 * -> verify -> validate -> route -> handle -> commit, with retries and a dead-letter topic), dead-letter redrive, the event-id dedupe window and
 * handler-module loading for `onex worker`.
 *
 *   const worker = createWorker.fromEnv({          // KAFKA_BROKERS, SCHEMA_REGISTRY_URL, as the CLI reads them; or
 *     groupId: 'billing',                           // createWorker({ kafka: { brokers }, registry: url, ... })
 *     topics: 'onex.events',
 *     targetVersion: '2.0.0',
 *     handlers: {
 *       NODE_FAILURE: async (event, ctx) => alerts.raise(ctx.eventId, event.metadata),
 *       '*': () => undefined,
 *     },
 *   });
 *   worker.handleSignals();   // SIGTERM / SIGINT: finish the record in hand, commit, leave the group
 *   await worker.start();
 *   await worker.done;
 */
export { createWorker } from './worker.js';
export type { Worker, WorkerFromEnvOptions } from './worker.js';
export type { ConsumerTuning, DeadLetterOptions, WorkerOptions } from './options.js';
export { HandlerRouter, loadHandlerModule } from './handlers.js';
export type { HandlerModule } from './handlers.js';
export { RecordProcessor } from './record-processor.js';
export type { RecordProcessorOptions } from './record-processor.js';
export type {
  DeadLetterSink,
  DecodedEvent,
  EventDecoder,
  EventHandler,
  FailureStage,
  HandlerContext,
  HandlerMap,
  ProcessControl,
  RecordFailure,
  RecordInFlight,
  RecordOutcome,
  RecordStage,
  SourceRecord,
  StageName,
  WorkerStats,
} from './types.js';
export { attemptDelay, classifyFailure, DEFAULT_RETRY_POLICY, shouldRetry } from './retry.js';
export { retryWhileRetriable } from '../retry/index.js';
export type { RetryPolicy } from './retry.js';
export {
  buildDeadLetter,
  buildRedriveRecord,
  defaultDeadLetterTopic,
  DLQ_HEADERS,
  headerText,
  readDeadLetterHeaders,
} from './dead-letter.js';
export type { DeadLetterInfo } from './dead-letter.js';
export { EventIdDedupe } from './dedupe.js';
export type { EventIdDedupeOptions } from './dedupe.js';
export { WorkerMetrics } from './metrics.js';
export { redriveDeadLetters } from './redrive.js';
export type { RedriveOptions, RedriveResult, RedrivenLetter } from './redrive.js';
