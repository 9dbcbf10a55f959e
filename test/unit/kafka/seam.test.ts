import { createRequire } from 'node:module';
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FAST_RECORD, installRecordBatchEncoder, KAFKAJS_SEAM_VERSION, kafkajsSeam, registerSeamMetrics, seamRefusal } from '../../../src/kafka/index.js';

const require = createRequire(import.meta.url);
const speaksProduce = (v: number) => v >= 3 && v <= 7;

describe('the kafkajs seam installs nothing on trust', () => {
  it('pins the kafkajs the hooks were written against, exactly', () => {
    const pkg = require('../../../package.json') as { dependencies: Record<string, string> };
    expect(pkg.dependencies.kafkajs).toBe(KAFKAJS_SEAM_VERSION);
    expect((require('kafkajs/package.json') as { version: string }).version).toBe(KAFKAJS_SEAM_VERSION);
  });

  it('refuses another kafkajs version, and request modules without the shape a hook wraps', () => {
    const good = { versions: ['3', '7'], protocol: () => () => ({}) };
    expect(seamRefusal(KAFKAJS_SEAM_VERSION, good, speaksProduce)).toBeUndefined();
    expect(seamRefusal('2.3.0', good, speaksProduce)).toMatch(/kafkajs 2\.3\.0 is installed, the hooks were written against 2\.2\.4/);
    expect(seamRefusal(undefined, good, speaksProduce)).toMatch(/version unknown/);
    expect(seamRefusal(KAFKAJS_SEAM_VERSION, { versions: ['7'] }, speaksProduce)).toMatch(/no protocol\(\) function/);
    expect(seamRefusal(KAFKAJS_SEAM_VERSION, { protocol: () => undefined }, speaksProduce)).toMatch(/no versions list/);
    expect(seamRefusal(KAFKAJS_SEAM_VERSION, { versions: ['8', '9'], protocol: () => undefined }, speaksProduce)).toMatch(/speaks versions 8, 9, none of which/);
    expect(seamRefusal(KAFKAJS_SEAM_VERSION, undefined, speaksProduce)).toMatch(/no protocol/);
  });
});

describe('the Produce hook', () => {
  const produce = require('kafkajs/src/protocol/requests/produce/index.js') as {
    protocol(v: { version: number }): (args: unknown) => { request: { encode(): Promise<{ buffer: Buffer }> } };
  };
  const request = (message: Record<string | symbol, unknown>) =>
    produce.protocol({ version: 7 })({
      acks: -1,
      timeout: 1_000,
      compression: 0,
      topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages: [message] }] }],
    });

  it('encodes opted-in records itself, leaves the others to kafkajs, and hands a batch its encoder fails on to kafkajs', async () => {
    expect(installRecordBatchEncoder()).toBe(true);
    const before = kafkajsSeam().produce;
    expect(before.installed).toBe(true);

    const fast = await request({ value: 'x', timestamp: 1_700_000_000_000, [FAST_RECORD]: true }).request.encode();
    const plain = await request({ value: 'x', timestamp: 1_700_000_000_000 }).request.encode();
    expect(fast.buffer.equals(plain.buffer)).toBe(true); // the same bytes either way
    // A timestamp kafkajs's Long accepts and our 64-bit writer does not: our encoder throws, kafkajs's writes it.
    const odd = await request({ value: 'x', timestamp: 1e300, [FAST_RECORD]: true }).request.encode();
    expect(odd.buffer.length).toBeGreaterThan(0);

    const after = kafkajsSeam().produce;
    expect(after.fast - before.fast).toBe(1);
    expect(after.leftToKafkajs - before.leftToKafkajs).toBe(1);
    expect(after.fallbacks - before.fallbacks).toBe(1);
  });

  it('shows in metrics whether each hook is installed and which path requests took', async () => {
    installRecordBatchEncoder();
    const registry = new client.Registry();
    registerSeamMetrics(registry);
    registerSeamMetrics(registry); // idempotent
    const text = await registry.metrics();
    expect(text).toContain('onex_kafkajs_hook_installed{request="produce"} 1');
    expect(text).toContain('onex_kafkajs_hook_installed{request="fetch"} 0');
    expect(text).toMatch(/onex_kafkajs_hook_requests_total\{request="produce",path="fast"\} [1-9]/);
  });
});
