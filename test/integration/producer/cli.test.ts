import { describe, expect, it } from 'vitest';
import { createKafka } from '../../../src/kafka/index.js';
import { runOnex } from '../../support/cli.js';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka.js';
import { consumeAll, decoderFor, recordCount, useTestRegistry } from './helpers.js';

describe('onex produce', () => {
  const registryUrl = useTestRegistry();
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'produce-cli-test' });

  it('writes --count valid events of the given versions and prints one JSON summary line', async () => {
    const topic = uniqueTopic('produce-cli');
    const r = await runOnex(['produce', '--topic', topic, '--count', '3000', '--versions', '1.0.0,2.0.0', '--bootstrap-server', kafkaBrokers().join(','), '--registry', registryUrl()]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as Record<string, number>;
    expect(Object.keys(summary).sort()).toEqual(['bytes', 'events_per_second', 'rejected', 'sampled_out', 'seconds', 'sent']);
    expect(summary).toMatchObject({ sent: 3000, sampled_out: 0, rejected: 0 });
    expect(summary.bytes).toBeGreaterThan(3000 * 200);
    expect(summary.events_per_second).toBeGreaterThan(0);

    expect(await recordCount(kafka, topic)).toBe(3000);
    const decode = decoderFor(registryUrl());
    const records = await consumeAll(kafka, topic);
    const versions = new Map<string, number>();
    const flows = new Map<string, number>();
    for (const rec of records) {
      const { event, writerVersion } = await decode(rec.value, writerVersionOf(rec.headers['onex-schema-version']));
      versions.set(writerVersion, (versions.get(writerVersion) ?? 0) + 1);
      flows.set(String(event.correlation_id), (flows.get(String(event.correlation_id)) ?? 0) + 1);
    }
    expect([...versions.keys()].sort()).toEqual(['1.0.0', '2.0.0']);
    // Flows share correlation ids: far fewer flows than events.
    expect(flows.size).toBeLessThan(1500);
  });

  it('samples with --sample-rate, keeping every failure, and accounts for every event', async () => {
    const topic = uniqueTopic('produce-cli-sampled');
    const r = await runOnex(['produce', '--topic', topic, '--count', '2000', '--sample-rate', '0.3', '--event-types', 'NODE_START,NODE_FAILURE', '-b', kafkaBrokers().join(','), '--registry', registryUrl()]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as Record<string, number>;
    expect(summary.sent! + summary.sampled_out!).toBe(2000);
    expect(summary.sampled_out).toBeGreaterThan(500);
    expect(await recordCount(kafka, topic)).toBe(summary.sent);
  });

  it('fails with one ONEX line for a bad argument', async () => {
    const r = await runOnex(['produce', '--versions', '1.0.0,9.9.9']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^ONEX_CLI_300: .*9\.9\.9/);
    const s = await runOnex(['produce', '--sample-rate', '0.5', '--versions', '1.1.0', '--kafka', kafkaBrokers().join(','), '--registry', registryUrl()]);
    expect(s.code).toBe(1);
    expect(s.stderr.trim().split('\n').pop()).toMatch(/^ONEX_CLI_300: --sample-rate needs versions that record the rate/);
    const down = await runOnex(['produce', '--count', '1', '--kafka', '127.0.0.1:1', '--registry', registryUrl()]);
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n').pop()).toMatch(/^ONEX_EVENT_600: Kafka at 127\.0\.0\.1:1 does not answer/);
  });
});

function writerVersionOf(header: string | undefined): '1.0.0' | '2.0.0' {
  return header === '2.0.0' ? '2.0.0' : '1.0.0';
}
