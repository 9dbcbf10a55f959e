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

  get kafka(): Kafka {
    return {
      producer: () => {
        this.producersMade++;
        return {
          connect: async () => undefined,
          disconnect: async () => undefined,
          send: async (req: SentRequest) => {
            this.attempts++;
            if (this.hold) await this.hold;
            if (this.failWith) throw this.failWith;
            this.sends.push({ compression: req.compression, messages: [...req.messages] });
            return [];
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
