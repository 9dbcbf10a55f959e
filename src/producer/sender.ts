import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import { onexError, type OnexError } from '../errors/index.js';
import { installRecordBatchEncoder, parseKafkaConfig, registerLz4Codec, toKafkaJsConfig, transportFailure, withCertificateCheck, type KafkaConfigInput } from '../kafka/index.js';
import { BACKOFFS, backoffDelay, sleep } from '../retry/index.js';
import type { Logger } from '../telemetry/types.js';
import type { Batch, PendingRecord } from './batcher.js';
import { KeyHashPartitioner, partitionOf } from './partitioner.js';

const { CompressionTypes, Kafka: KafkaClient } = kafkajs;

const LIMITED_RETRIES_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/**
 * The producer's own kafkajs client when it is given a configuration: createKafka's settings, log routing and TLS
 * certificate check, minus
 * kafkajs's warning about limited retries, which KAFKAJS_RETRY below explains does not apply to this producer.
 */
export function createProducerKafka(input: KafkaConfigInput | (Omit<KafkaConfigInput, 'brokers'> & { brokers: string })): Kafka {
  const parsed = parseKafkaConfig(input);
  const config = toKafkaJsConfig(parsed);
  const base = config.logCreator!;
  const client = new KafkaClient({
    ...config,
    logCreator: (level) => {
      const log = base(level);
      return (entry) => {
        if (entry.log.message !== LIMITED_RETRIES_WARNING) log(entry);
      };
    },
  });
  return withCertificateCheck(client, parsed);
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
 * idempotence because one send() is in flight per partition and each send() goes to one leader (see deliver):
 * kafkajs rolls a failed request's sequence numbers back, nothing else takes them meanwhile, so the retry carries the
 * same producer id and sequences and the broker drops it as a duplicate if the first attempt was written after all. (kafkajs logs a warning about limited retries
 * once per producer; this paragraph is the reason it does not apply.) When a batch is given up, the producer is
 * replaced (new producer id), so a later batch can never be mistaken for the abandoned one.
 */
const KAFKAJS_RETRY = { retries: 4, initialRetryTime: 100, maxRetryTime: 1_000 };

/** Broker answers that say the batch is too big: split it, or fail the single record with ONEX_EVENT_602. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
/** The broker lost track of this producer's sequences: only a new producer id gets out of it. */
const PRODUCER_STATE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);
const PROGRAMMING_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

/** What one delivery's sends share. */
interface Attempt {
  readonly batch: Batch;
  readonly report: SendReport;
  readonly deadline: number;
  readonly compression: (typeof CompressionTypes)[keyof typeof CompressionTypes];
}

/** Records of one partition sent together, and how often that failed so far. */
interface Part {
  readonly records: PendingRecord[];
  readonly attempt: number;
  readonly lastFailure: Failure | undefined;
}

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


/** A send() or connect() still unanswered when the batch's delivery deadline passes. */
class DeadlinePassed extends Error {
  override name = 'DeadlinePassed';
  constructor() {
    super('no answer from Kafka before the delivery deadline');
  }
}

/**
 * Resolves as `work` does, or rejects with DeadlinePassed at the deadline. kafkajs's own request retries are bounded
 * (KAFKAJS_RETRY), but a send() to a cluster that is gone also waits for kafkajs to reconnect, with the client's
 * connection retries (up to 30 s apart): a full outage kept one send() open for as long as the broker was down, far
 * past the delivery timeout (found by test/faults/disk-full). The abandoned call is left to finish on its own; the
 * caller settles its records as unknown (ONEX_EVENT_612) and replaces the producer, so nothing later shares its
 * producer id and sequences.
 */
function beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  const left = deadline - Date.now();
  if (left <= 0) {
    work.catch(() => undefined);
    return Promise.reject(new DeadlinePassed());
  }
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlinePassed()), left);
  });
  work.catch(() => undefined);
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * The Kafka end of the producer: one idempotent kafkajs producer (acks=all, key-hash partitioning compatible with
 * the Java client), one batch in flight at a time, sent as one send() per partition leader (see deliver), batches delivered in
 * the order they are handed in.
 */
export class KafkaSender {
  private producer: Producer | undefined;
  /** The topic's partition count as kafkajs's partitioner last saw it (to tell which partition a record went to). */
  private partitionCount = 0;
  /** The topic's partitions and their leaders as kafkajs's partitioner last saw them (to group a batch by leader). */
  private partitionMetadata: readonly { partitionId: number; leader: number }[] = [];
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

  /**
   * Sends one batch to a final state; never throws. Every record is settled exactly once through `report`.
   *
   * The batch goes out as one send() per partition leader, side by side: the same requests one send() of the whole
   * batch makes (kafkajs sends one request per leader), but each with an outcome of its own. A send() that spans
   * several leaders can fail after some of them wrote their partitions: kafkajs advanced those partitions' sequence
   * numbers and rolled back only the failed ones, so sending the batch again would write the first partitions a second
   * time under new sequences, which the broker takes for new records (found by test/faults/leader-kill: a SIGKILLed
   * leader outlived kafkajs's retries and the live leaders' partitions were duplicated). A send() to one leader is one
   * request: written or not as a whole, and a retry carries the sequences of the attempt that failed, which the broker
   * drops as duplicates if that attempt was written after all. (What is left: a leader's partitions that kafkajs's
   * own retries find moved to several new leaders, and one of those failing past kafkajs's retries after another
   * wrote; a group is one partition whenever a topic has no more partitions than brokers.)
   * A partition's records stay in order: it has one send() in flight at a time, and the batches before it are done.
   * The producer is replaced only between rounds, when no send() is in flight on it.
   */
  async deliver(batch: Batch, report: SendReport): Promise<void> {
    const ctx: Attempt = {
      batch,
      report,
      deadline: batch.oldestAcceptedAt + this.options.deliveryTimeoutMs,
      compression: batch.lane === 'lz4' ? CompressionTypes.LZ4 : CompressionTypes.None,
    };
    // Per leader, the parts still to send, in order; only the first of each is sent in a round.
    const queues: Part[][] = this.byLeader(batch.records).map((records) => [{ records, attempt: 0, lastFailure: undefined }]);
    while (queues.length > 0) {
      const outcomes = await Promise.all(queues.map((queue) => this.sendPart(queue[0]!, ctx)));
      let replace = false;
      let backoffAttempt = 0;
      for (let i = queues.length - 1; i >= 0; i--) {
        const outcome = outcomes[i]!;
        replace ||= outcome.replace;
        if (outcome.retry) backoffAttempt = Math.max(backoffAttempt, outcome.next[0]!.attempt);
        queues[i]!.splice(0, 1, ...outcome.next);
        if (queues[i]!.length === 0) queues.splice(i, 1);
      }
      if (replace) await this.replaceProducer();
      if (backoffAttempt > 0) await sleep(Math.max(0, Math.min(backoffDelay(BACKOFFS.producerSend, backoffAttempt), ctx.deadline - Date.now())));
    }
  }

  /**
   * The batch's records by the leader of the partition kafkajs's partitioner will give them, as the last send saw
   * the cluster (all together before the first send, when there is nothing to go by).
   */
  private byLeader(records: PendingRecord[]): PendingRecord[][] {
    const count = this.partitionCount;
    if (count <= 1 || records.length <= 1) return [records];
    const leaderOf = new Map<number, number>();
    for (const m of this.partitionMetadata) leaderOf.set(m.partitionId, m.leader);
    const groups = new Map<number, PendingRecord[]>();
    for (const r of records) {
      const leader = leaderOf.get(partitionOf(r.message.keyHash, count)) ?? -1;
      const group = groups.get(leader);
      if (group) group.push(r);
      else groups.set(leader, [r]);
    }
    return [...groups.values()];
  }

  /** One send() of one part: settles what reached a final state, and says what is left of it to send. */
  private async sendPart(part: Part, ctx: Attempt): Promise<{ next: Part[]; retry: boolean; replace: boolean }> {
    const { records } = part;
    const t0 = performance.now();
    try {
      const producer = await beforeDeadline(this.ensureProducer(), ctx.deadline);
      const messages = records.map((r) => r.message);
      const answered = await beforeDeadline(producer.send({ topic: this.options.topic, acks: -1, timeout: this.options.ackTimeoutMs, compression: ctx.compression, messages }), ctx.deadline);
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
        ctx.report.sent(ctx.batch, done.length, bytes, (performance.now() - t0) / 1000);
        ctx.report.settled(done, undefined);
      }
      if (unanswered.length === 0) return { next: [], retry: false, replace: false };
      if (Date.now() >= ctx.deadline) {
        ctx.report.settled(unanswered, onexError('ONEX_EVENT_612', `Kafka did not acknowledge ${unanswered.length} events within the delivery timeout of ${this.options.deliveryTimeoutMs} ms (their partitions were never answered); they may or may not have been written`, {
          details: { deliveryTimeoutMs: this.options.deliveryTimeoutMs, lastError: 'partition unanswered' },
        }));
        return { next: [], retry: false, replace: false };
      }
      this.unansweredResent += unanswered.length;
      this.log.warn({ records: unanswered.length, partitions: [...written] }, 'kafkajs answered a send without some of its partitions; sending those records again');
      return { next: [{ records: unanswered, attempt: 0, lastFailure: undefined }], retry: false, replace: false };
    } catch (err) {
      // At the deadline the reason worth reporting is the last answer Kafka gave, when there was one.
      const failure = err instanceof DeadlinePassed && part.lastFailure ? part.lastFailure : classifyKafkaError(err);
      if (failure.kind === 'too_large') {
        if (records.length > 1) {
          // The broker's limit is below our batch size (a topic with a smaller max.message.bytes): halve and go on.
          const half = Math.ceil(records.length / 2);
          return { next: [{ ...part, records: records.slice(0, half) }, { ...part, records: records.slice(half) }], retry: false, replace: false };
        }
        const r = records[0]!;
        ctx.report.settled(records, onexError('ONEX_EVENT_602', `the broker refused event ${r.eventId} of ${r.bytes} bytes as too large (${failure.type}); its max.message.bytes for ${this.options.topic} is below the producer's maxEventBytes`, {
          details: { eventBytes: r.bytes, brokerError: failure.type },
        }));
        return { next: [], retry: false, replace: false };
      }
      if (failure.kind === 'fatal') {
        ctx.report.settled(records, onexError('ONEX_EVENT_600', `Kafka refused a batch of ${records.length} events for ${this.options.topic}: ${failure.message}`, {
          cause: err,
          details: { brokerError: failure.type },
        }));
        return { next: [], retry: false, replace: true };
      }
      if (Date.now() >= ctx.deadline) {
        ctx.report.settled(records, onexError('ONEX_EVENT_612', `Kafka did not acknowledge ${records.length} events within the delivery timeout of ${this.options.deliveryTimeoutMs} ms (last error: ${failure.message}); they may or may not have been written`, {
          cause: err,
          details: { deliveryTimeoutMs: this.options.deliveryTimeoutMs, lastError: failure.type },
        }));
        return { next: [], retry: false, replace: true };
      }
      this.log.debug({ attempt: part.attempt, error: failure.message, records: records.length }, 'send failed, retrying the batch');
      const replace = failure.kind === 'producer_state' || /disconnect/i.test(failure.message);
      return { next: [{ records, attempt: part.attempt + 1, lastFailure: failure }], retry: true, replace };
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
            this.partitionMetadata = args.partitionMetadata;
            return choose(args);
          };
        },
      });
      try {
        await p.connect();
      } catch (err) {
        await p.disconnect().catch(() => undefined);
        throw transportFailure(err) ?? onexError('ONEX_EVENT_600', `cannot connect the producer to Kafka: ${(err as Error).message}`, { cause: err });
      }
      this.producer = p;
      return p;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /**
   * The next send makes a new producer (a new producer id). The old one is disconnected in the background: while
   * the cluster is unreachable its disconnect waits on the same reconnect loop an abandoned send() does.
   */
  private async replaceProducer(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) void p.disconnect().catch((err: unknown) => this.log.warn({ err }, 'producer disconnect failed'));
  }
}
