import kafkajs, { type Kafka, type KafkaConfig as KafkaJsConfig, type LogEntry } from 'kafkajs';
import { logger } from '../logging/index.js';
import { kafkajsDebugLog, parseKafkaConfig, silenceKafkajsPartitionerNotice, type KafkaConfig, type KafkaConfigInput } from './config.js';
import { registerLz4Codec } from './lz4.js';
import { installFetchDecoder } from './fetch-decoder.js';
import { withCertificateCheck } from './tls-preflight.js';

const { Kafka: KafkaClient, logLevel } = kafkajs;

silenceKafkajsPartitionerNotice();

/**
 * kafkajs log lines go to our logger. kafkajs logs every error answer of the broker ("Response Produce(...)": the
 * coordinator is loading, the leader moved) at ERROR before it retries, and a failure that outlives the retries is
 * thrown to the caller anyway, so those lines are debug; everything else it reports as an error stays a warning.
 */
function logCreator() {
  const log = logger('kafkajs');
  return ({ level, log: entry }: LogEntry) => {
    const { message, ...rest } = entry;
    if (level === logLevel.ERROR || level === logLevel.WARN) {
      if (message.startsWith('Response ')) log.debug(rest, message);
      else log.warn(rest, message);
    } else if (level === logLevel.INFO) log.debug(rest, message);
  };
}

export function toKafkaJsConfig(config: KafkaConfig): KafkaJsConfig {
  return {
    clientId: config.clientId,
    brokers: config.brokers,
    ssl: config.ssl,
    sasl: config.sasl,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    retry: {
      retries: config.retry.retries,
      initialRetryTime: config.retry.initialRetryTimeMs,
      maxRetryTime: config.retry.maxRetryTimeMs,
    },
    logLevel: kafkajsDebugLog() ? logLevel.DEBUG : logLevel.WARN,
    logCreator,
  };
}

/**
 * The one way the pipeline makes a kafkajs client: validated configuration, Kafka's LZ4 codec registered, kafkajs
 * logs routed to our logger, and over TLS a certificate check before every connect that fails an untrusted broker
 * certificate at once (src/kafka/tls-preflight.ts) instead of after kafkajs's retries. Accepts raw input (validated here) or an already parsed KafkaConfig.
 */
export function createKafka(input: KafkaConfigInput | KafkaConfig | (Omit<KafkaConfigInput, 'brokers'> & { brokers: string })): Kafka {
  registerLz4Codec();
  // The Fetch hook: read committed that drops every aborted record (kafkajs's own filter lets some through).
  installFetchDecoder();
  const config = parseKafkaConfig(input as KafkaConfigInput);
  return withCertificateCheck(new KafkaClient(toKafkaJsConfig(config)), config);
}
