import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { asOnexError, onexError } from '../errors/index.js';
import { checkReplication, createKafka, ensureTopics, kafkaConfigFromEnv, transportFailure } from '../kafka/index.js';
import { BACKOFFS, backoffDelay, sleep } from '../retry/index.js';
import { logger } from '../logging/index.js';
import { RegistryHttpError, httpErrors } from './http-errors.js';
import { combineChecks } from '../health/index.js';
import type { CheckResult } from '../health/types.js';
import { ConsumerReadiness } from '../health/internal.js';
import { RegistryState, keys, type LogRecord, type RecordKey } from './state.js';
import type { RegistryStore, WritePlan } from './store.js';

/**
 * The registry's state in a compacted, single-partition Kafka topic (`_schemas` by default), in Confluent's record
 * format.
 *
 * Reads: every instance consumes the whole topic (read_committed) into its local state and answers from it.
 *
 * Writes, and why two instances never hand out one id twice: every write is a Kafka transaction under ONE
 * transactional id shared by all instances of a topic. An instance that starts writing first calls InitProducerId,
 * which fences every other producer with that id (their open transaction is aborted and their next commit fails),
 * then catches up with the log (a NOOP record written and read back), then plans the write against that state and
 * commits it. So a commit succeeds only if no other instance started writing since this one caught up; every write
 * was planned against the complete log, and the next free id it computed cannot have been taken. An instance that
 * was fenced sees its commit fail, re-initialises (fencing the other in turn), catches up, re-plans and tries again.
 * There is no leader to elect or forward to: the transaction coordinator's epoch is the lock, and it needs no
 * liveness guess (a crashed writer's transaction is aborted by the next writer's InitProducerId, or by timeout).
 * The cost is one InitProducerId and a catch-up each time the writing instance changes; an instance that keeps
 * writing keeps its epoch and pays only the transaction.
 */

export interface KafkaStoreOptions {
  brokers: string | string[];
  topic?: string;
  clientId?: string;
  /** Replication of the topic when this store creates it (default 3 on a cluster of 3+ brokers, else 1). */
  replicationFactor?: number;
  /** Its min.insync.replicas (default 2 on a cluster of 3+ brokers, else 1). */
  minInsyncReplicas?: number;
  /** How long a write or catch-up may wait for its records to come back from the log (default 30 s). */
  timeoutMs?: number;
  /** A ready client (tests, or a caller with TLS/SASL settings); otherwise one is made from `brokers`. */
  kafka?: Kafka;
}

export const DEFAULT_SCHEMAS_TOPIC = '_schemas';

interface Waiter {
  offset: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

function decodeKey(message: KafkaMessage): RecordKey | undefined {
  if (!message.key) return undefined;
  try {
    const key = JSON.parse(message.key.toString('utf8')) as RecordKey;
    if (!key || typeof key !== 'object' || typeof key.keytype !== 'string') return undefined;
    if (key.keytype === 'SCHEMA' && (typeof key.subject !== 'string' || !Number.isInteger(key.version))) return undefined;
    return key;
  } catch {
    return undefined;
  }
}

export class KafkaStore implements RegistryStore {
  readonly state = new RegistryState();
  readonly topic: string;
  readonly description: string;
  private readonly kafka: Kafka;
  private readonly timeoutMs: number;
  private readonly groupId = `onex-registry-reader-${randomBytes(6).toString('hex')}`;
  private readonly log = logger('registry.kafka');
  private admin?: Admin;
  private consumer?: Consumer;
  /** Plain producer for NOOP catch-up markers (they change no state, so they need no fencing). */
  private marker?: Producer;
  /** Transactional producer; present while this instance holds the writer epoch as far as it knows. */
  private writer?: Producer;
  private applied = -1;
  private waiters: Waiter[] = [];
  private writeTail: Promise<unknown> = Promise.resolve();
  private syncInFlight?: Promise<void>;
  private syncQueued?: Promise<void>;
  private closed = false;
  private consumerReadiness: ConsumerReadiness | undefined;

  constructor(private readonly options: KafkaStoreOptions) {
    this.topic = options.topic ?? DEFAULT_SCHEMAS_TOPIC;
    checkReplication(options, 'registry store');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    // TLS and SASL settings come from the environment (ONEX_KAFKA_SSL*, ONEX_KAFKA_SASL_*), like every component;
    // the configuration layer (kafkaConfigFromEnv) reads it.
    this.kafka =
      options.kafka ??
      createKafka(
        kafkaConfigFromEnv(undefined, {
          brokers: Array.isArray(options.brokers) ? options.brokers.join(',') : options.brokers,
          clientId: options.clientId ?? 'onex-schema-registry',
        }),
      );
    const brokers = Array.isArray(options.brokers) ? options.brokers.join(',') : options.brokers;
    this.description = `kafka topic ${this.topic} on ${brokers}`;
  }

  /** All instances on one topic share this id: it is what makes their writes exclusive. */
  get transactionalId(): string {
    return `onex-schema-registry.${this.topic}`;
  }

  async start(): Promise<void> {
    try {
      this.admin = this.kafka.admin();
      await this.admin.connect();
      await ensureTopics(this.admin, [
        {
          topic: this.topic,
          partitions: 1,
          replicationFactor: this.options.replicationFactor,
          minInsyncReplicas: this.options.minInsyncReplicas,
          configs: { 'cleanup.policy': 'compact' },
        },
      ]);
      const meta = await this.admin.fetchTopicMetadata({ topics: [this.topic] });
      const partitions = meta.topics[0]?.partitions.length ?? 0;
      if (partitions !== 1) {
        throw onexError(
          'ONEX_RT_407',
          `topic ${this.topic} has ${partitions} partitions; the schema registry needs exactly one, for a total order of its records`,
        );
      }
      this.marker = this.kafka.producer({ allowAutoTopicCreation: false });
      await this.marker.connect();
      this.consumer = this.kafka.consumer({ groupId: this.groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
      this.consumerReadiness = new ConsumerReadiness(this.consumer);
      await this.consumer.connect();
      await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await this.consumer.run({
        eachBatch: async ({ batch, heartbeat }) => {
          for (const message of batch.messages) this.onMessage(message);
          await heartbeat();
        },
      });
      await this.sync();
      this.log.info({ topic: this.topic, schemas: this.state.schemas.size, subjects: this.state.subjects.size }, 'registry state rebuilt from Kafka');
    } catch (err) {
      await this.close();
      throw transportFailure(err) ?? asOnexError(err, 'ONEX_EVENT_600', `schema registry store on ${this.description} failed to start: ${(err as Error).message}`);
    }
  }

  private onMessage(message: KafkaMessage): void {
    const key = decodeKey(message);
    if (key) {
      try {
        const value = message.value === null ? null : JSON.parse(message.value.toString('utf8'));
        this.state.apply({ key, value } as LogRecord);
      } catch (err) {
        this.log.warn({ offset: message.offset, err: (err as Error).message }, 'skipped an unreadable registry record');
      }
    }
    this.applied = Number(message.offset);
    if (this.waiters.length > 0) {
      const still: Waiter[] = [];
      for (const w of this.waiters) {
        if (w.offset <= this.applied) {
          clearTimeout(w.timer);
          w.resolve();
        } else still.push(w);
      }
      this.waiters = still;
    }
  }

  private waitApplied(offset: number): Promise<void> {
    if (offset <= this.applied) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(httpErrors.timeout(`Timed out after ${this.timeoutMs} ms waiting for the schema log to reach offset ${offset}`));
      }, this.timeoutMs);
      this.waiters.push({ offset, resolve, reject, timer });
    });
  }

  /** Writes a NOOP marker and waits until the local state has read past it: everything committed before is applied. */
  private async catchUp(): Promise<void> {
    if (!this.marker) throw httpErrors.store('Error in the backend data store: the store is not started');
    const [meta] = await this.marker.send({
      topic: this.topic,
      acks: -1,
      messages: [{ key: JSON.stringify(keys.noop()), value: null }],
    });
    await this.waitApplied(Number(meta!.baseOffset));
  }

  /** Coalesces concurrent callers: each waits for a catch-up that began after it called. */
  sync(): Promise<void> {
    if (this.syncQueued) return this.syncQueued;
    const previous = this.syncInFlight ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => {
        this.syncQueued = undefined;
        const run = this.catchUp();
        this.syncInFlight = run;
        return run;
      });
    this.syncQueued = next;
    return next;
  }

  write<T>(plan: (state: RegistryState) => WritePlan<T>): Promise<T> {
    const run = this.writeTail.then(() => this.writeNow(plan));
    this.writeTail = run.catch(() => undefined);
    return run;
  }

  private async writeNow<T>(plan: (state: RegistryState) => WritePlan<T>): Promise<T> {
    let lastError: unknown;
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 1; attempt === 1 || Date.now() < deadline; attempt++) {
      if (this.closed) throw httpErrors.store('Error in the backend data store: the store is closed');
      try {
        const held = this.writer;
        const writer = await this.writerProducer();
        // A new writer has just caught up. One we already held has too, as far as ids go (nobody else can commit
        // without fencing it first), but its view of other instances' writes may be stale, and a refusal (40401,
        // 409) planned against a stale view would be wrong: catch up so every write sees what was committed first.
        if (held) await this.sync();
        const { records, result } = plan(this.state);
        if (records.length === 0) return result(this.state);
        const last = await this.commit(writer, records);
        await this.waitApplied(last);
        return result(this.state);
      } catch (err) {
        if (err instanceof RegistryHttpError) throw err;
        lastError = err;
        // Most likely fenced by another instance that started writing: take the epoch back, catch up, re-plan.
        this.log.debug({ attempt, err: (err as Error).message }, 'registry write lost its epoch or failed; retrying');
        await this.dropWriter();
        // Jittered exponential backoff: two instances writing at once must not keep fencing each other in lockstep.
        await sleep(backoffDelay(BACKOFFS.registryStoreWrite, attempt));
      }
    }
    throw httpErrors.store(`Error in the backend data store: ${(lastError as Error)?.message ?? 'write failed'}`);
  }

  private async writerProducer(): Promise<Producer> {
    if (this.writer) return this.writer;
    const producer = this.kafka.producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 15_000,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    // kafkajs sends InitProducerId for a transactional id lazily, on the first transaction(). The fence must be up
    // BEFORE we catch up with the log and plan, or another instance could commit between our catch-up and our
    // fence, and we would plan against a stale log (the two-instance test caught exactly that: a duplicated id).
    const fence = await producer.transaction();
    await fence.abort();
    this.writer = producer;
    await this.sync(); // read everything committed before we took the epoch
    return producer;
  }

  private async commit(writer: Producer, records: LogRecord[]): Promise<number> {
    const txn = await writer.transaction();
    try {
      const [meta] = await txn.send({
        topic: this.topic,
        acks: -1,
        messages: records.map((r) => ({
          key: JSON.stringify(r.key),
          value: r.value === null ? null : JSON.stringify(r.value),
        })),
      });
      await txn.commit();
      return Number(meta!.baseOffset) + records.length - 1;
    } catch (err) {
      await txn.abort().catch(() => undefined);
      throw err;
    }
  }

  private async dropWriter(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    await writer?.disconnect().catch(() => undefined);
  }

  /** Ready while the consumer of the topic is connected and holds its partition (the state follows the log). */
  readiness(): CheckResult {
    if (this.closed) return { ok: false, detail: 'closed' };
    const checks = this.consumerReadiness?.checks();
    if (!checks) return { ok: false, detail: 'not started' };
    return combineChecks(checks);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(httpErrors.store('Error in the backend data store: the store is closing'));
    }
    this.waiters = [];
    await this.dropWriter();
    await this.consumer?.disconnect().catch(() => undefined);
    await this.marker?.disconnect().catch(() => undefined);
    // The reader's group is this process's alone; leave no trace of it on the cluster.
    await this.admin?.deleteGroups([this.groupId]).catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    this.consumer = this.marker = this.admin = undefined;
  }
}
