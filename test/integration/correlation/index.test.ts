import { randomBytes, randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTimestamp } from '../../../src/event/index.js';
import { CorrelationLookup, createCorrelationIndex, loadTrace, type Flow } from '../../../src/processors/correlation/index.js';
import type { Processor } from '../../../src/processors/index.js';
import { murmur2, partitionOf } from '../../../src/producer/index.js';
import { runReplay } from '../../../src/replay/index.js';
import { runOnex } from '../../support/cli.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, encoded, produce, startPipeline, waitFor, type Pipeline } from '../worker/pipeline.js';

let p: Pipeline;
const running: Processor[] = [];
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  await Promise.allSettled(running.map((x) => x.stop()));
  await p?.close();
});

const BASE_MS = Date.UTC(2026, 0, 2, 3, 4, 5);
const at = (ms: number) => formatTimestamp(ms * 1000);

function startIndex(topic: string, groupId: string, indexTopic: string): Processor {
  const proc = createCorrelationIndex({ kafka: p.kafka, groupId, topic, indexTopic, decoder: p.codec, fromBeginning: true, metricsRegistry: new Registry() });
  running.push(proc);
  return proc;
}

/** A fresh lookup each time: one lookup reads a partition once. */
async function flowOf(indexTopic: string, id: string): Promise<Flow | undefined> {
  return new CorrelationLookup(p.kafka, indexTopic).flow(id);
}

describe('the correlation index on the real broker', () => {
  it('indexes flows with their links, finds them by id, trace and tree, survives a restart from its changelog, and replay reads only the flow', async () => {
    const source = uniqueTopic('corr-src');
    const indexTopic = uniqueTopic('corr-index');
    const groupId = `corr-${randomUUID()}`;
    await createTopic(p, source, 4);
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const trace = randomBytes(16).toString('hex');
    const flowA = Array.from({ length: 5 }, (_, i) => encoded(p, '1.3.0', { correlation_id: a, trace_id: trace, node_id: `node_${i % 2}`, timestamp: at(BASE_MS + i * 100) }));
    const rows = [
      ...flowA,
      encoded(p, '1.3.0', { correlation_id: b, parent_correlation_id: a, trace_id: trace, timestamp: at(BASE_MS + 50) }),
      encoded(p, '2.0.0', { correlation_id: c, parent_correlation_id: b, timestamp: at(BASE_MS + 60) }),
      ...Array.from({ length: 60 }, (_, i) => encoded(p, '1.2.0', { timestamp: at(BASE_MS + i) })),
    ];
    // Interleave the flows with the noise so the flow's range in its partition has other records around it.
    const noise = rows.slice(7);
    const inputs = [...noise.slice(0, 20), flowA[0]!, flowA[1]!, ...noise.slice(20, 40), flowA[2]!, rows[5]!, rows[6]!, flowA[3]!, flowA[4]!, ...noise.slice(40)].map((r) => r.input);
    await produce(p, source, inputs);

    const first = startIndex(source, groupId, indexTopic);
    await first.start();
    await waitFor('the index to hold flow a', async () => (await flowOf(indexTopic, a))?.count === 5, 30_000);

    const lookup = new CorrelationLookup(p.kafka, indexTopic);
    const fa = (await lookup.flow(a))!;
    expect(fa.segments).toHaveLength(1);
    expect(fa.segments[0]!.partition).toBe(partitionOf(murmur2(Buffer.from(a)), 4));
    expect(fa).toMatchObject({ first_time_ms: BASE_MS, last_time_ms: BASE_MS + 400, trace_id: trace, parent_correlation_id: null, children: [b] });
    expect(new Set(fa.node_ids)).toEqual(new Set(['node_0', 'node_1']));
    expect(lookup.stats.partitionsRead, 'one index partition per id').toBe(1);
    expect((await lookup.byTrace(trace)).map((f) => f.correlation_id)).toEqual([a, b]);
    expect((await lookup.tree(a)).map((f) => f.correlation_id)).toEqual([a, b, c]);
    expect(await lookup.flow(randomUUID())).toBeUndefined();

    // Restart: two more events of a after the first processor stopped. A processor that did not restore its state
    // would count them from zero and move first_offset up to them.
    await first.stop();
    await produce(p, source, [0, 1].map((i) => encoded(p, '1.3.0', { correlation_id: a, trace_id: trace, timestamp: at(BASE_MS + 1000 + i) }).input));
    // While no index runs, the two new events are not indexed: with the index group named, a replay reads the
    // unindexed tail of the flow's partition as well and finds them; without it, it finds what the index saw.
    const stale = { kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: uniqueTopic('corr-stale'), selection: { correlationId: a }, speed: 'max' as const, dryRun: true };
    const withTail = new CorrelationLookup(p.kafka, indexTopic, { indexGroup: groupId });
    const indexOnly = new CorrelationLookup(p.kafka, indexTopic);
    expect((await runReplay({ ...stale, rangesFor: (id) => withTail.rangesFor(id, source) })).count).toBe(7);
    expect((await runReplay({ ...stale, rangesFor: (id) => indexOnly.rangesFor(id, source) })).count).toBe(5);
    // A flow the index has never seen (all of it written while no index runs), in a partition the group committed
    // on: trace finds it in the unindexed tail given the group; without the group it is unknown (ONEX_RT_431).
    const sameAsA = partitionOf(murmur2(Buffer.from(a)), 4);
    let fresh = randomUUID();
    while (partitionOf(murmur2(Buffer.from(fresh)), 4) !== sameAsA) fresh = randomUUID();
    await produce(p, source, [0, 1, 2].map((i) => encoded(p, '1.3.0', { correlation_id: fresh, node_id: `node_${i % 2}`, timestamp: at(BASE_MS + 2000 + i * 10) }).input));
    const traceOf = (indexGroup?: string) => loadTrace({ kafka: p.kafka, decoder: p.codec, topic: source, indexTopic, indexGroup, correlationId: fresh });
    const found = await traceOf(groupId);
    expect(found.tree).toMatchObject({ flows: 1, events: 3, roots: [{ correlation_id: fresh, count: 3, start_ms: BASE_MS + 2000 }] });
    expect(found.records_read, 'only the tail of its partition').toBeLessThanOrEqual(5);
    await expect(traceOf(undefined)).rejects.toMatchObject({ code: 'ONEX_RT_431' });

    const second = startIndex(source, groupId, indexTopic);
    await second.start();
    await waitFor('the restarted index to count 7 events of a', async () => (await flowOf(indexTopic, a))?.count === 7, 30_000);
    const after = (await flowOf(indexTopic, a))!;
    expect(after.segments[0]!.first_offset).toBe(fa.segments[0]!.first_offset);
    expect(after.last_time_ms).toBe(BASE_MS + 1001);
    expect(second.stats().restores).toBeGreaterThan(0);

    // Replay through the index reads the flow's range only; without it, the whole partition.
    const target = uniqueTopic('corr-replay');
    const replayLookup = new CorrelationLookup(p.kafka, indexTopic);
    const indexed = await runReplay({ kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: target, selection: { correlationId: a }, speed: 'max', dryRun: true, rangesFor: (id) => replayLookup.rangesFor(id, source) });
    const hashed = await runReplay({ kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: target, selection: { correlationId: a }, speed: 'max', dryRun: true });
    expect(indexed.count).toBe(7);
    expect(hashed.count).toBe(7);
    const seg = after.segments[0]!;
    expect(indexed.records_read).toBe(Number(BigInt(seg.last_offset) - BigInt(seg.first_offset)) + 1);
    expect(indexed.records_read).toBeLessThan(hashed.records_read);
    const tree = await runReplay({ kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: target, selection: { correlationId: a, withChildren: true }, speed: 'max', dryRun: true, treeFor: (id) => replayLookup.treeRanges(id, source) });
    expect(tree.count).toBe(9);
    expect(tree.records_read).toBeLessThan(inputs.length + 2);

    // The command goes through the index as well: the same records as the library call.
    const env = { ...process.env, KAFKA_BROKERS: p.brokers, SCHEMA_REGISTRY_URL: p.registry.url, ONEX_LOG_LEVEL: 'error' };
    const cli = await runOnex(['replay', '--topic', source, '--correlation-id', a, '--with-children', '--index-topic', indexTopic, '--index-group', groupId, '--to-topic', target, '--dry-run'], { env });
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ count: 9, records_read: tree.records_read });
  });

  it('onex trace prints the tree of an operation across nodes, by correlation id or trace id, as text and JSON', async () => {
    const source = uniqueTopic('trace-src');
    const indexTopic = uniqueTopic('trace-index');
    await createTopic(p, source, 3);
    const [root, child] = [randomUUID(), randomUUID()];
    const trace = randomBytes(16).toString('hex');
    const meta = (extra: Record<string, unknown>) => ({ input_state: { file: 'a.py' }, ...extra });
    const rows = [
      encoded(p, '1.3.0', { correlation_id: root, trace_id: trace, node_id: 'gateway_node-1', event_type: 'NODE_START', timestamp: at(BASE_MS) }),
      encoded(p, '1.3.0', { correlation_id: child, parent_correlation_id: root, trace_id: trace, node_id: 'worker_node-1', event_type: 'NODE_START', timestamp: at(BASE_MS + 50) }),
      encoded(p, '1.3.0', { correlation_id: child, parent_correlation_id: root, trace_id: trace, node_id: 'worker_node-1', event_type: 'NODE_FAILURE', error_code: 'ONEX_EVENT_610', metadata: meta({ error: 'boom' }), timestamp: at(BASE_MS + 250) }),
      encoded(p, '1.3.0', { correlation_id: root, trace_id: trace, node_id: 'gateway_node-1', event_type: 'NODE_SUCCESS', metadata: meta({ output_state: { ok: true } }), timestamp: at(BASE_MS + 300) }),
    ];
    await produce(p, source, rows.map((r) => r.input));
    const index = startIndex(source, `trace-${randomUUID()}`, indexTopic);
    await index.start();
    await waitFor('both flows indexed', async () => (await flowOf(indexTopic, root))?.children.length === 1 && (await flowOf(indexTopic, child))?.count === 2, 30_000);

    const env = { ...process.env, KAFKA_BROKERS: p.brokers, SCHEMA_REGISTRY_URL: p.registry.url, ONEX_LOG_LEVEL: 'error' };
    const args = ['--topic', source, '--index-topic', indexTopic];
    const [json, text, byTrace, unknown] = await Promise.all([
      runOnex(['trace', root, ...args, '--json'], { env }),
      runOnex(['trace', root, ...args], { env }),
      runOnex(['trace', '--trace-id', trace, ...args, '--json'], { env }),
      runOnex(['trace', randomUUID(), ...args], { env }),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const tree = JSON.parse(json.stdout) as { roots: Array<{ correlation_id: string; duration_ms: number; status: string; nodes: Array<{ node_id: string; status: string; duration_ms: number }>; children: Array<{ correlation_id: string; status: string; nodes: Array<{ node_id: string; status: string; duration_ms: number; error_codes: string[] }> }> }>; flows: number; events: number; records_read: number };
    expect(tree).toMatchObject({ flows: 2, events: 4 });
    const [r] = tree.roots;
    expect(r).toMatchObject({ correlation_id: root, duration_ms: 300, status: 'success', nodes: [{ node_id: 'gateway_node-1', status: 'success', duration_ms: 300 }] });
    expect(r!.children).toMatchObject([{ correlation_id: child, status: 'failure', nodes: [{ node_id: 'worker_node-1', status: 'failure', duration_ms: 200, error_codes: ['ONEX_EVENT_610'] }] }]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`flow ${root}  +0 ms  300 ms  2 events`);
    expect(text.stdout).toMatch(/└─ flow \S+  \+50 ms  200 ms  2 events/);
    expect(text.stdout).toContain('worker_node-1 failure  +50 ms  200 ms  START → FAILURE  ONEX_EVENT_610');
    expect(byTrace.code, byTrace.stderr).toBe(0);
    expect(JSON.parse(byTrace.stdout)).toMatchObject({ flows: 2, events: 4 });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('ONEX_RT_431');
  });
});
