/**
 * What the project's long-running parts (worker, producer, processors, the registry's store) use of health beyond its
 * public face: a kafkajs consumer's readiness from its events, and the check of a started, not stopping, part. Not
 * exported by the package.
 */
export { ConsumerReadiness, runningCheck } from './consumer.js';
