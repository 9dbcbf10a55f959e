/**
 * Public face of the producer module: OnexProducer (validate -> sample -> encode -> size check -> batch -> compress
 * -> send), its options and defaults, and the flow-consistent sampler.
 *
 *   const producer = new OnexProducer({ kafka: { brokers: '127.0.0.1:9092' }, registry: 'http://127.0.0.1:8081' });
 *   await producer.start();                       // registers the writer schema once, connects
 *   await producer.emit({ node_id: 'stamper_node-001', event_type: 'NODE_START', correlation_id, metadata });
 *   producer.emitAndForget(event);                // failures go to onError / onFailure and the metrics
 *   await producer.close();                       // delivers everything accepted
 */
export { OnexProducer, isRetriableEmitError } from './producer.js';
export type { EmitResult } from './types.js';
export { DEFAULTS as PRODUCER_DEFAULTS, parseProducerSettings } from './options.js';
export type { EventEncoder, OnexProducerOptions, OverflowPolicy, ProducerSettings, ProducerSettingsInput } from './options.js';
export { Sampler, flowPosition } from './sampler.js';
export type { SampleDecision, SamplerConfig } from './sampler.js';
export { classifyKafkaError } from './sender.js';
export { murmur2, partitionOf } from './partitioner.js';
