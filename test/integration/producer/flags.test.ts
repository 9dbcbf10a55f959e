import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FileFlagProvider, FlagSet } from '../../../src/flags/index.js';
import { createKafka } from '../../../src/kafka/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { writeFlags } from '../../support/flags.js';
import { kafkaBrokers } from '../../support/kafka.js';
import { fetchRecordBatchHeaders } from '../../support/record-batches.js';
import { newTopic, useTestRegistry } from './helpers.js';

const bulky = (tag: string) => ({
  node_id: 'stamper_node-001',
  event_type: 'NODE_START',
  correlation_id: tag,
  metadata: { input_state: { tag, text: 'node state handler metadata stamp trace value '.repeat(400) } },
});

describe('a running producer follows the LZ4 feature flag', () => {
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'producer-flags' });
  const registryUrl = useTestRegistry();

  it('switches compression off and on again when the flags file changes, without a restart', async () => {
    const topic = await newTopic(kafka, 'producer-flag-lz4', 1);
    const file = join(mkdtempSync(join(tmpdir(), 'onex-flags-')), 'flags.json');
    writeFlags(file, { 'onex.producer.lz4': true });
    const flagSet = new FlagSet({ domain: `producer-flags-${topic}` });
    await flagSet.useProvider(new FileFlagProvider({ file }));
    const producer = new OnexProducer({ kafka, registry: registryUrl(), topic, flags: flagSet, metricsRegistry: new Registry() });

    const flipTo = async (on: boolean) => {
      const seen = new Promise<void>((resolve) => {
        const off = flagSet.onChange<boolean>('onex.producer.lz4', (value) => {
          if (value === on) {
            off();
            resolve();
          }
        });
      });
      writeFlags(file, { 'onex.producer.lz4': on });
      await seen;
    };

    expect((await producer.emit(bulky('first'))).status).toBe('sent');
    await flipTo(false);
    expect((await producer.emit(bulky('while-off'))).status).toBe('sent');
    await flipTo(true);
    expect((await producer.emit(bulky('on-again'))).status).toBe('sent');
    await producer.close();

    const batches = await fetchRecordBatchHeaders(kafkaBrokers()[0]!, topic, 0);
    expect(batches.map((b) => [b.compression, b.recordCount])).toEqual([
      ['lz4', 1],
      ['none', 1],
      ['lz4', 1],
    ]);
  });
});
