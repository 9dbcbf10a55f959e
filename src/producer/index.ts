/**
 * Public face of the producer module: OnexProducer (validate -> sample -> encode -> size check -> batch -> compress
 * -> send), its options and defaults, the flow-consistent sampler and the synthetic load of `onex produce`.
 */
export { OnexProducer, isRetriableEmitError } from './producer.js';
export type { EmitResult } from './producer.js';
export { DEFAULTS as PRODUCER_DEFAULTS, parseProducerSettings } from './options.js';
export type { EventEncoder, OnexProducerOptions, OverflowPolicy, ProducerSettings, ProducerSettingsInput } from './options.js';
export { Sampler, flowPosition } from './sampler.js';
export type { SampleDecision, SamplerConfig } from './sampler.js';
export { classifyKafkaError } from './sender.js';
