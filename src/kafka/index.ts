export { createKafka, toKafkaJsConfig } from './client.js';
export { kafkaConfigFromEnv, kafkaConfigSchema, parseKafkaConfig, splitBrokers } from './config.js';
export type { KafkaConfig, KafkaConfigInput } from './config.js';
export { lz4Codec, registerLz4Codec } from './lz4.js';
export { decodeFetchResponse, fetchDecoderStats, installFetchDecoder, useFastFetch } from './fetch-decoder.js';
export { crc32cImplementation, encodeProduceRequest, encodeRecordBatch, FAST_RECORD, installRecordBatchEncoder } from './record-batch.js';
export type { RecordBatchInput, RecordInput } from './record-batch.js';
export { ensureTopics } from './topics.js';
export type { TopicSpec } from './topics.js';
