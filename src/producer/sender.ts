import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import { onexError, type OnexError } from '../errors/index.js';
import { installRecordBatchEncoder, parseKafkaConfig, registerLz4Codec, toKafkaJsConfig, type KafkaConfigInput } from '../kafka/index.js';
import { BACKOFFS, backoffDelay, sleep } from '../retry/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { Batch, PendingRecord } from './batcher.js';
import { KeyHashPartitioner, partitionOf } from './partitioner.js';

const { CompressionTypes, Kafka: KafkaClient } = kafkajs;

const LIMITED_RETRIES_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/**
 * The producer's own kafkajs client when it is given a configuration: createKafka's settings and log routing, minus
 * kafkajs's warning about limited retries, which KAFKAJS_RETRY below explains does not apply to this producer.
 */
export function createProducerKafka(input: KafkaConfigInput | (Omit<KafkaConfigInput, 'brokers'> & { brokers: string })): Kafka {
  const config = toKafkaJsConfig(parseKafkaConfig(input));
  const base = config.logCreator!;
  return new KafkaClient({
    ...config,
    logCreator: (level) => {
      const log = base(level);
      return (entry) => {
        if (entry.log.message !== LIMITED_RETRIES_WARNING) log(entry);
      };
    },
  });
}

export interface SenderOptions {
  readonly topic: string;
  readonly ackTimeoutMs: number;
  readonly deliveryTimeoutMs: number;
}

export interface SendReport {
  /** Records that reached a final state together: acknowledged (error undefined) or failed. */
  settled(records: readonly PendingRecord[], error: OnexError | undefined): void;
  /** One successful send() call: how long it took and what it carried. */
  sent(batch: Batch, records: number, bytes: number, seconds: number): void;
}

/**
 * What kafkajs retries inside one send() call. We keep kafkajs's own retries short and bounded and retry the same
 * batch again above it until the delivery deadline, which kafkajs cannot give us (its idempotent default of
 * Number.MAX_SAFE_INTEGER retries would make a send() during a long outage never return). This is safe for
 * idempotence because exactly one send() is in flight per producer: kafkajs rolls a failed request's sequence numbers
 * back, nothing else takes them meanwhile, so the retry carries the same producer id and sequences and the broker
 * drops it as a duplicate if the first attempt was written after all. (kafkajs logs a warning about limited retries
 * once per producer; this paragraph is the reason it does not apply.) When a batch is given up, the producer is
 * replaced (new producer id), so a later batch can never be mistaken for the abandoned one.
 */
const KAFKAJS_RETRY = { retries: 4, initialRetryTime: 100, maxRetryTime: 1_000 };

/** Broker answers that say the batch is too big: split it, or fail the single record with ONEX_EVENT_602. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
/** The broker lost track of this producer's sequences: only a new producer id gets out of it. */
const PRODUCER_STATE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);
const PROGRAMMING_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

type Failure = { kind: 'too_large' | 'producer_state' | 'fatal' | 'transient'; type: string | undefined; message: string };

/** Walks kafkajs's wrappers (NumberOfRetriesExceeded, NonRetriableError) down to the broker's answer. */
export function classifyKafkaError(err: unknown): Failure {
  let e = err as { type?: string; retriable?: boolean; name?: string; message?: string; cause?: unknown } | undefined;
  let protocol: { type: string; retriable?: boolean } | undefined;
  let deepest = e;
  for (let i = 0; e && i < 8; i++) {
    if (typeof e.type === 'string' && !protocol) protocol = { type: e.type, retriable: e.retriable };
    deepest = e;
    e = e.cause as typeof e;
  }
  const message = (err as Error)?.message ?? String(err);
  if (protocol) {
    if (TOO_LARGE.has(protocol.type)) return { kind: 'too_large', type: protocol.type, message };
    if (PRODUCER_STATE.has(protocol.type)) return { kind: 'producer_state', type: protocol.type, message };
    if (protocol.retriable === false) return { kind: 'fatal', type: protocol.type, message };
    return { kind: 'transient', type: protocol.type, message };
  }
  if (deepest?.name && PROGRAMMING_ERRORS.has(deepest.name)) return { kind: 'fatal', type: deepest.name, message };
  // Connection refused or closed, request timeouts, metadata not loaded, lock timeouts: the broker may come back.
  return { kind: 'transient', type: deepest?.name, message };
}


/**
 * The Kafka end of the producer: one idempotent kafkajs producer (acks=all, key-hash partitioning compatible with
 * the Java client), one send() in flight at a time, batches delivered in the order they are handed in.
 */
export class KafkaSender {
  private producer: Producer | undefined;
  /** The topic's partition count as kafkajs's partitioner last saw it (to tell which partition a record went to). */
  private partitionCount = 0;
  /** Records a send() reported written without a response for their partition, sent again (see deliver). */
  unansweredResent = 0;
  private connecting: Promise<Producer> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: SenderOptions,
    private readonly log: Logger,
  ) {
    // Every producer has a sender, whatever client it was given: the LZ4 lane needs the codec, and the records this
    // sender hands kafkajs are marked for the one-pass batch encoder (src/kafka/record-batch.ts).
    registerLz4Codec();
    installRecordBatchEncoder();
  }

  async connect(): Promise<void> {
    await this.ensureProducer();
  }

  async disconnect(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await p.disconnect().catch((err: unknown) => this.log.warn({ err }, 'producer disconnect failed'));
  }

  /** Sends one batch to a final state; never throws. Every record is settled exactly once through `report`. */
  async deliver(batch: Batch, report: SendReport): Promise<void> {
    const deadline = batch.oldestAcceptedAt + this.options.deliveryTimeoutMs;
    const compression = batch.lane === 'lz4' ? CompressionTypes.LZ4 : CompressionTypes.None;
    const parts: PendingRecord[][] = [batch.records];
    while (parts.length > 0) {
      const records = parts.shift()!;
      for (let attempt = 0; ; attempt++) {
        const t0 = performance.now();
        try {
          const producer = await this.ensureProducer();
          const messages = records.map((r) => r.message);
          const answered = await producer.send({ topic: this.options.topic, acks: -1, timeout: this.options.ackTimeoutMs, compression, messages });
          // kafkajs 2.2.4 can resolve send() without writing a partition: when a broker's request failed (timed out)
          // and the retry finds that partition's new leader among brokers that already answered this send(), it
          // never sends that partition again (sendMessages keys its answers by broker). The answer then lacks the
          // partition: those records were not written, and their sequence numbers were rolled back, so they are
          // sent again, with the same sequences, rather than reported acknowledged (found by test/faults).
          const written = new Set(answered.map((m) => m.partition));
          const unanswered = this.partitionCount > 0 ? records.filter((r) => !written.has(partitionOf(r.message.keyHash, this.partitionCount))) : [];
          const done = unanswered.length === 0 ? records : records.filter((r) => written.has(partitionOf(r.message.keyHash, this.partitionCount)));
          let bytes = 0;
          for (const r of done) bytes += r.bytes;
          if (done.length > 0) {
            report.sent(batch, done.length, bytes, (performance.now() - t0) / 1000);
            report.settled(done, undefined);
          }
          if (unanswered.length > 0 && Date.now() >= deadline) {
            report.settled(unanswered, onexError('ONEX_EVENT_612', `Kafka did not acknowledge ${unanswered.length} events within the delivery timeout of ${this.options.deliveryTimeoutMs} ms (their partitions were never answered); they may or may not have been written`, {
              details: { deliveryTimeoutMs: this.options.deliveryTimeoutMs, lastError: 'partition unanswered' },
            }));
          } else if (unanswered.length > 0) {
            this.unansweredResent += unanswered.length;
            this.log.warn({ records: unanswered.length, partitions: [...written] }, 'kafkajs answered a send without some of its partitions; sending those records again');
            parts.unshift(unanswered);
          }
          break;
        } catch (err) {
          const failure = classifyKafkaError(err);
          if (failure.kind === 'too_large') {
            if (records.length > 1) {
              // The broker's limit is below our batch size (a topic with a smaller max.message.bytes): halve and go on.
              const half = Math.ceil(records.length / 2);
              parts.unshift(records.slice(0, half), records.slice(half));
            } else {
              const r = records[0]!;
              report.settled(records, onexError('ONEX_EVENT_602', `the broker refused event ${r.eventId} of ${r.bytes} bytes as too large (${failure.type}); its max.message.bytes for ${this.options.topic} is below the producer's maxEventBytes`, {
                details: { eventBytes: r.bytes, brokerError: failure.type },
              }));
            }
            break;
          }
          if (failure.kind === 'fatal') {
            await this.replaceProducer();
            report.settled(records, onexError('ONEX_EVENT_600', `Kafka refused a batch of ${records.length} events for ${this.options.topic}: ${failure.message}`, {
              cause: err,
              details: { brokerError: failure.type },
            }));
            break;
          }
          const now = Date.now();
          if (now >= deadline) {
            await this.replaceProducer();
            report.settled(records, onexError('ONEX_EVENT_612', `Kafka did not acknowledge ${records.length} events within the delivery timeout of ${this.options.deliveryTimeoutMs} ms (last error: ${failure.message}); they may or may not have been written`, {
              cause: err,
              details: { deliveryTimeoutMs: this.options.deliveryTimeoutMs, lastError: failure.type },
            }));
            break;
          }
          if (failure.kind === 'producer_state' || /disconnect/i.test(failure.message)) await this.replaceProducer();
          this.log.debug({ attempt, error: failure.message, records: records.length }, 'send failed, retrying the batch');
          await sleep(Math.max(0, Math.min(backoffDelay(BACKOFFS.producerSend, attempt + 1), deadline - now)));
        }
      }
    }
  }

  private async ensureProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    this.connecting ??= (async () => {
      const p = this.kafka.producer({
        idempotent: true,
        retry: KAFKAJS_RETRY,
        // Murmur2 of the key, as the Java client: a flow lands on the same partition whichever client wrote it.
        createPartitioner: () => {
          const choose = KeyHashPartitioner();
          return (args) => {
            this.partitionCount = args.partitionMetadata.length;
            return choose(args);
          };
        },
      });
      try {
        await p.connect();
      } catch (err) {
        await p.disconnect().catch(() => undefined);
        throw onexError('ONEX_EVENT_600', `cannot connect the producer to Kafka: ${(err as Error).message}`, { cause: err });
      }
      this.producer = p;
      return p;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async replaceProducer(): Promise<void> {
    await this.disconnect();
  }
}
