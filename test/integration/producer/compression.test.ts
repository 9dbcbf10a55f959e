import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { isOnexError } from '../../../src/errors/index.js';
import { createKafka } from '../../../src/kafka/index.js';
import { OnexProducer } from '../../../src/producer/index.js';
import { kafkaBrokers } from '../../support/kafka.js';
import { fetchRecordBatchHeaders } from '../../support/record-batches.js';
import { consumeAll, decoderFor, newTopic, recordCount, useTestRegistry } from './helpers.js';

/** Metadata of about `bytes` in values under the 100 KB per-value limit, with text that compresses like real text. */
function bulkyMetadata(bytes: number, tag: string): Record<string, unknown> {
  const words = 'node state handler metadata stamp trace value result input output '.split(' ');
  const out: Record<string, unknown> = { input_state: { tag } };
  for (let i = 0, left = bytes; left > 0; i++) {
    const n = Math.min(90_000, left);
    let s = '';
    for (let j = 0; s.length < n; j++) s += `${words[(j * 7 + i) % 10]}${j % 997} `;
    out[`chunk_${i}`] = s.slice(0, n);
    left -= n;
  }
  return out;
}

const event = (metadata: Record<string, unknown>, correlation: string) => ({
  node_id: 'stamper_node-001',
  event_type: 'NODE_START',
  correlation_id: correlation,
  metadata,
});

describe('OnexProducer sizes on a real broker', () => {
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'producer-sizes' });
  const registryUrl = useTestRegistry();

  it('writes events over 10 KB in LZ4 record batches and smaller ones uncompressed, as the broker stores them', async () => {
    const topic = await newTopic(kafka, 'producer-lz4', 1);
    const producer = new OnexProducer({ kafka, registry: registryUrl(), topic, metricsRegistry: new Registry() });
    const small = Array.from({ length: 40 }, (_, i) => event({ input_state: { i } }, `small-${i}`));
    const large = Array.from({ length: 6 }, (_, i) => event(bulkyMetadata(30_000 + i * 10_000, `large-${i}`), `large-${i}`));
    // Interleaved, so both lanes are busy at once.
    const all = [...small.slice(0, 20), ...large.slice(0, 3), ...small.slice(20), ...large.slice(3)];
    const results = await Promise.all(all.map((e) => producer.emit(e)));
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    await producer.close();

    const batches = await fetchRecordBatchHeaders(kafkaBrokers()[0]!, topic, 0);
    const count = (c: string) => batches.filter((b) => b.compression === c).reduce((n, b) => n + b.recordCount, 0);
    expect(count('lz4')).toBe(6);
    expect(count('none')).toBe(40);
    expect(batches.every((b) => b.compression === 'lz4' || b.compression === 'none')).toBe(true);

    // And they read back whole: every large event's metadata survives LZ4 and Avro.
    const decode = decoderFor(registryUrl());
    const records = await consumeAll(kafka, topic);
    const decoded = await Promise.all(records.map((r) => decode(r.value, '1.3.0')));
    for (const l of large) {
      const got = decoded.find((d) => d.event.correlation_id === l.correlation_id);
      expect(got?.event.metadata).toEqual(l.metadata);
    }
  });

  it('rejects an event over the 1 MB default limit with ONEX_EVENT_602, and delivers one just under it', async () => {
    const topic = await newTopic(kafka, 'producer-limit', 1);
    const producer = new OnexProducer({ kafka, registry: registryUrl(), topic, metricsRegistry: new Registry() });
    // 1.03 MB of metadata: under the protocol's 1 MiB metadata limit (validation passes) but over the 1 MB hard limit.
    const err = await producer.emit(event(bulkyMetadata(1_030_000, 'too-big'), 'too-big')).catch((e: unknown) => e);
    expect(isOnexError(err, 'ONEX_EVENT_602')).toBe(true);
    expect((err as Error).message).toMatch(/is 1\.03 MB \(\d+ bytes\) encoded, over the 1 MB \(1000000 bytes\) limit/);
    // 950 KB fits the limit and the broker's message.max.bytes: it is delivered (LZ4, alone in its batch).
    const ok = await producer.emit(event(bulkyMetadata(950_000, 'just-under'), 'just-under'));
    expect(ok.status).toBe('sent');
    await producer.close();
    expect(await recordCount(kafka, topic)).toBe(1);
    const [batch] = await fetchRecordBatchHeaders(kafkaBrokers()[0]!, topic, 0);
    expect(batch).toMatchObject({ compression: 'lz4', recordCount: 1 });
  });

  it('honours a configured limit and threshold', async () => {
    const topic = await newTopic(kafka, 'producer-limit-cfg', 1);
    const producer = new OnexProducer({
      kafka,
      registry: registryUrl(),
      topic,
      maxEventBytes: 50_000,
      compression: { thresholdBytes: 1_000 },
      metricsRegistry: new Registry(),
    });
    const err = await producer.emit(event(bulkyMetadata(60_000, 'x'), 'x')).catch((e: unknown) => e);
    expect(isOnexError(err, 'ONEX_EVENT_602')).toBe(true);
    expect((err as Error).message).toMatch(/over the 50 KB \(50000 bytes\) limit/);
    await producer.emit(event(bulkyMetadata(2_000, 'y'), 'y'));
    await producer.emit(event({ input_state: {} }, 'z'));
    await producer.close();
    const batches = await fetchRecordBatchHeaders(kafkaBrokers()[0]!, topic, 0);
    expect(batches.map((b) => b.compression)).toEqual(['lz4', 'none']);
  });
});
