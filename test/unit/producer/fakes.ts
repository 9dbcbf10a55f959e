import type { Kafka } from 'kafkajs';
import { writeWireFormat } from '../../../src/codec/index.js';
import { onexError } from '../../../src/errors/index.js';
import type { SchemaVersion } from '../../../src/event/index.js';
import type { EventEncoder } from '../../../src/producer/index.js';

/**
 * Unit-test doubles. The encoder writes the real wire-format header around JSON (the Avro codec is tested on its
 * own); the Kafka double records what the producer hands to kafkajs and lets a test hold or fail sends. Integration
 * tests use the real broker and registry instead.
 */
export class JsonEncoder implements EventEncoder {
  prepared: SchemaVersion[] = [];
  async prepare(version: SchemaVersion): Promise<number> {
    this.prepared.push(version);
    return 7;
  }
  encode(event: object, version: SchemaVersion): Buffer {
    if (!this.prepared.includes(version)) throw onexError('ONEX_EVENT_603', `schema ${version} was not prepared`);
    return writeWireFormat(7, Buffer.from(JSON.stringify(event)));
  }
}

export interface SentRequest {
  compression: number | undefined;
  messages: Array<{ key: Buffer; value: Buffer; headers: Record<string, Buffer> }>;
}

export class FakeKafka {
  readonly sends: SentRequest[] = [];
  producersMade = 0;
  /** While set, send() waits for it. */
  hold: Promise<void> | undefined;
  /** While set, send() throws it. */
  failWith: Error | undefined;
  attempts = 0;
  /**
   * When set, send() partitions the messages with the producer's own partitioner over this many partitions and
   * answers one RecordMetadata per partition written; `unanswered` partitions are left out of the next answer (and
   * their messages are not recorded as sent), as kafkajs 2.2.4 does after a leader change.
   */
  partitions: number | undefined;
  unanswered: number[] = [];

  get kafka(): Kafka {
    return {
      producer: (options: { createPartitioner?: () => (args: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number } = {}) => {
        this.producersMade++;
        const partitioner = options.createPartitioner?.();
        return {
          connect: async () => undefined,
          disconnect: async () => undefined,
          send: async (req: SentRequest) => {
            this.attempts++;
            if (this.hold) await this.hold;
            if (this.failWith) throw this.failWith;
            if (this.partitions === undefined || !partitioner) {
              this.sends.push({ compression: req.compression, messages: [...req.messages] });
              return [];
            }
            const meta = Array.from({ length: this.partitions }, (_, i) => ({ partitionId: i, leader: 1, replicas: [1], isr: [1] }));
            const byPartition = new Map<number, SentRequest['messages']>();
            for (const m of req.messages) {
              const p = partitioner({ topic: 't', partitionMetadata: meta, message: m });
              byPartition.set(p, [...(byPartition.get(p) ?? []), m]);
            }
            const skip = new Set(this.unanswered.splice(0));
            const written = [...byPartition].filter(([p]) => !skip.has(p));
            this.sends.push({ compression: req.compression, messages: written.flatMap(([, ms]) => ms) });
            return written.map(([partition]) => ({ topicName: 't', partition, errorCode: 0, baseOffset: '0' }));
          },
        };
      },
    } as unknown as Kafka;
  }

  get messages() {
    return this.sends.flatMap((s) => s.messages);
  }
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
