import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTimestamp, type SchemaVersion } from '../../../src/event/index.js';
import { runReplay } from '../../../src/replay/index.js';
import { REPO_ROOT, runOnex, spawnOnex } from '../../support/cli.js';
import { runProcess } from '../../support/process.js';
import { uniqueTopic } from '../../support/kafka.js';
import { createTopic, encoded, produce, readTopic, startPipeline, type Input, type Pipeline } from '../worker/pipeline.js';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  await p?.close();
});

const BASE_MS = Date.UTC(2026, 0, 2, 3, 4, 5);
const at = (ms: number) => formatTimestamp(ms * 1000);

async function replayed(topic: string, count: number) {
  const records = await readTopic(p, topic, count);
  return Promise.all(records.map(async (r) => ({ ...r, decoded: await p.codec.decode(r.value!, '2.0.0') })));
}

describe('onex replay on the real broker', () => {
  it('a 5 s flow at speed 10 takes 0.5 s, in order, gaps scaled, reading only its partition', async () => {
    const source = uniqueTopic('replay-src');
    const target = uniqueTopic('replay-out');
    await createTopic(p, source, 4);
    await createTopic(p, target, 1);
    const flow = randomUUID();
    // 11 events 500 ms apart (a 5 s flow), shuffled in with 40 events of other flows over every partition.
    const mine = Array.from({ length: 11 }, (_, i) => encoded(p, '1.3.0', { correlation_id: flow, timestamp: at(BASE_MS + i * 500) }));
    const mineIds = mine.map((m) => m.id);
    const noise = Array.from({ length: 40 }, () => encoded(p, '1.3.0'));
    const inputs: Input[] = [];
    for (let i = 0; i < 51; i++) inputs.push(i % 5 === 0 && mine.length > 0 ? mine.shift()!.input : (noise.shift() ?? mine.shift()!).input);
    await produce(p, source, inputs);

    const summary = await runReplay({ kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: target, selection: { correlationId: flow }, speed: 10 });
    expect(summary).toMatchObject({ count: 11, emitted: 11, failed: 0, span_ms: 5000, duration_ms: 500, interrupted: false });
    expect(summary.elapsed_ms).toBeGreaterThanOrEqual(450);
    // Bounded well below speed 5 (1,000 ms) yet loose enough for a loaded CI machine, where a timer can fire late;
    // the pacing itself is measured in bench/replay.ts.
    expect(summary.elapsed_ms).toBeLessThan(1_000);
    expect(summary.records_read, 'only the flow partition was read').toBeLessThan(51);

    const out = await replayed(target, 11);
    const events = out.map((r) => r.decoded.event as unknown as { correlation_id: string; timestamp: string; replay: { original_event_id: string; speed: number; replay_id: string } });
    const emittedAt = events.map((e) => Date.parse(e.timestamp));
    expect(events.map((e) => e.replay.original_event_id)).toEqual(mineIds);
    expect(events.every((e) => e.correlation_id === flow && e.replay.speed === 10 && e.replay.replay_id === summary.replay_id)).toBe(true);
    // In order and 50 ms apart (500 ms / 10): the median gap on the mark, and each event at least 40 ms per step
    // after the first (each send is scheduled from the flow's start, so a timer that fires late on a loaded machine
    // stretches one gap and shrinks the next, and no event goes out early).
    const gaps = emittedAt.slice(1).map((t, i) => t - emittedAt[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(0);
    const sorted = [...gaps].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeGreaterThanOrEqual(40);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThanOrEqual(60);
    for (let i = 0; i < emittedAt.length; i++) expect(emittedAt[i]! - emittedAt[0]!).toBeGreaterThanOrEqual(i * 40);
  });

  it('--with-children follows parent_correlation_id; a mixed-version flow comes out upcast', async () => {
    const source = uniqueTopic('replay-src');
    const target = uniqueTopic('replay-out');
    await createTopic(p, source, 3);
    await createTopic(p, target, 1);
    const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const versions: SchemaVersion[] = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '2.0.0'];
    const rows = [
      ...versions.map((v, i) => encoded(p, v, { correlation_id: a, timestamp: at(BASE_MS + i) })),
      encoded(p, '1.3.0', { correlation_id: b, parent_correlation_id: a, timestamp: at(BASE_MS + 10) }),
      encoded(p, '1.3.0', { correlation_id: c, parent_correlation_id: b, timestamp: at(BASE_MS + 20) }),
      encoded(p, '1.3.0', { correlation_id: d, timestamp: at(BASE_MS + 30) }),
    ];
    await produce(p, source, rows.map((r) => r.input));

    const alone = await runReplay({ kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: target, selection: { correlationId: a }, speed: 'max', dryRun: true });
    expect(alone).toMatchObject({ count: 5, emitted: 0, versions: { '1.0.0': 1, '1.1.0': 1, '1.2.0': 1, '1.3.0': 1, '2.0.0': 1 } });

    const summary = await runReplay({ kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: target, selection: { correlationId: a, withChildren: true }, speed: 'max' });
    expect(summary).toMatchObject({ count: 7, emitted: 7 });
    const out = await replayed(target, 7);
    expect(out.every((r) => r.decoded.writerVersion === '2.0.0')).toBe(true);
    const ids = out.map((r) => (r.decoded.event as { correlation_id: string }).correlation_id);
    expect(new Set(ids)).toEqual(new Set([a, b, c]));
    const originals = out.map((r) => (r.decoded.event as unknown as { replay: { original_event_id: string } }).replay.original_event_id);
    expect(originals.slice(0, 5)).toEqual(rows.slice(0, 5).map((r) => r.id));
  });

  it('a time range returns exactly the records whose own timestamps are in it', async () => {
    const source = uniqueTopic('replay-src');
    const target = uniqueTopic('replay-out');
    await createTopic(p, source, 2);
    await createTopic(p, target, 1);
    const sent = Array.from({ length: 20 }, (_, i) => ({ ...encoded(p, '1.2.0', { timestamp: at(BASE_MS + i * 1000) }), ts: BASE_MS + i * 1000, partition: i % 2 }));
    // A record with an old timestamp between in-range offsets (a producer clock behind): outside the range.
    sent.splice(12, 0, { ...encoded(p, '1.2.0'), ts: BASE_MS - 60_000, partition: 0 });
    for (const s of sent) await p.producer.send({ topic: source, acks: -1, messages: [{ key: s.input.key, value: s.input.value, partition: s.partition, timestamp: String(s.ts) }] });

    const from = BASE_MS + 5000;
    const to = BASE_MS + 12_000;
    const summary = await runReplay({ kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: target, selection: { fromMs: from, toMs: to }, speed: 'max' });
    const expected = sent.filter((s) => s.ts >= from && s.ts < to).map((s) => s.id);
    expect(summary.count).toBe(7);
    const out = await replayed(target, 7);
    expect(out.map((r) => (r.decoded.event as unknown as { replay: { original_event_id: string } }).replay.original_event_id)).toEqual(expected);
  });

  it('the CLI refuses the source topic without the flag and prints a dry-run summary line', async () => {
    const source = uniqueTopic('replay-src');
    await createTopic(p, source, 1);
    const flow = randomUUID();
    await produce(p, source, [0, 2000].map((ms) => encoded(p, '1.3.0', { correlation_id: flow, timestamp: at(BASE_MS + ms) }).input));
    const env = { ...process.env, KAFKA_BROKERS: p.brokers, SCHEMA_REGISTRY_URL: p.registry.url, ONEX_LOG_LEVEL: 'error' };
    const refused = await runOnex(['replay', '--topic', source, '--correlation-id', flow, '--to-topic', source], { env });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ONEX_CLI_320');
    const dry = await runOnex(['replay', '--topic', source, '--correlation-id', flow, '--to-topic', `${source}.replay`, '--speed', '4', '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    const lines = dry.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ dry_run: true, count: 2, span_ms: 2000, duration_ms: 500, versions: { '1.3.0': 2 } });
  });

  it('on a terminal it draws a progress bar (events, elapsed, eta) on stderr, then the one JSON summary line', async () => {
    const source = uniqueTopic('replay-src');
    const target = uniqueTopic('replay-out');
    await createTopic(p, source, 1);
    await createTopic(p, target, 1);
    const flow = randomUUID();
    // 6 events 400 ms apart (2 s) at speed 4: 0.5 s, one bar per event.
    await produce(p, source, Array.from({ length: 6 }, (_, i) => encoded(p, '1.3.0', { correlation_id: flow, timestamp: at(BASE_MS + i * 400) }).input));
    const main = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, '--import', 'tsx', main, 'replay', '--topic', source, '--correlation-id', flow, '--to-topic', target, '--speed', '4'].map(quote).join(' ');
    // util-linux script(1) runs the command on a pseudo-terminal (stdout and stderr both are the terminal), -e: its exit code.
    const run = await runProcess('script', ['-qfec', command, '/dev/null'], {
      cwd: REPO_ROOT,
      env: { ...process.env, KAFKA_BROKERS: p.brokers, SCHEMA_REGISTRY_URL: p.registry.url, ONEX_LOG_LEVEL: 'error' },
      timeoutMs: 60_000,
    });
    expect(run.code, run.stdout).toBe(0);
    const screen = run.stdout.replace(/\r\n/g, '\n');
    const bars = [...screen.matchAll(/\r\[(#*)(\.*)\] (\d+)\/6 events, (\d+\.\d) s elapsed, eta (\d+\.\d) s/g)];
    expect(bars.map((b) => Number(b[3])), screen).toEqual([1, 2, 3, 4, 5, 6]);
    for (const b of bars) expect(b[1]!.length + b[2]!.length, 'a 30-column bar').toBe(30);
    const [first, last] = [bars[0]!, bars.at(-1)!];
    expect(first[1]).toBe('#'.repeat(5));
    expect(Number(first[5]), 'eta of the first event: the whole 0.5 s').toBeGreaterThanOrEqual(0.4);
    expect(last[1]).toBe('#'.repeat(30));
    expect(Number(last[4])).toBeGreaterThanOrEqual(0.4);
    expect(last[5]).toBe('0.0');
    // The bar is ended with a newline; the summary is the last line, alone.
    const lines = screen.trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ count: 6, emitted: 6, failed: 0, interrupted: false, duration_ms: 500 });
    expect(lines.at(-2)).toMatch(/6\/6 events, .* eta 0\.0 s$/);
  });

  it('reads a flow whose partition is longer than one fetch to its end', async () => {
    const source = uniqueTopic('replay-src');
    await createTopic(p, source, 1);
    const flow = randomUUID();
    // About 3 MB in one partition: three fetches at kafkajs's 1 MB per partition.
    const pad = { input_state: { pad: 'x'.repeat(1_000) } };
    await produce(p, source, Array.from({ length: 3_000 }, (_, i) => encoded(p, '1.3.0', { metadata: pad, ...(i % 1_000 === 999 ? { correlation_id: flow } : {}) }).input));
    const summary = await runReplay({ kafka: p.kafka, codec: p.codec, sourceTopic: source, toTopic: `${source}.replay`, selection: { correlationId: flow }, speed: 'max', dryRun: true });
    expect(summary).toMatchObject({ count: 3, records_read: 3_000 });
  });

  it('Ctrl-C stops the command between events: exit 130, the summary says how far it got, and that many were written', async () => {
    const source = uniqueTopic('replay-src');
    const target = uniqueTopic('replay-out');
    await createTopic(p, source, 1);
    await createTopic(p, target, 1);
    const flow = randomUUID();
    // 20 events 500 ms apart: 10 s at speed 1, so the interrupt lands mid-replay.
    await produce(p, source, Array.from({ length: 20 }, (_, i) => encoded(p, '1.3.0', { correlation_id: flow, timestamp: at(BASE_MS + i * 500) }).input));
    const { child, stdout, stderr, exited } = spawnOnex(['replay', '--topic', source, '--correlation-id', flow, '--to-topic', target], {
      env: { ...process.env, KAFKA_BROKERS: p.brokers, SCHEMA_REGISTRY_URL: p.registry.url, ONEX_LOG_LEVEL: 'error' },
    });
    await readTopic(p, target, 2, 30_000);
    child.kill('SIGINT');
    expect(await exited, stderr()).toBe(130);
    const summary = JSON.parse(stdout().trim()) as { interrupted: boolean; emitted: number; count: number };
    expect(summary).toMatchObject({ interrupted: true, count: 20 });
    expect(summary.emitted).toBeGreaterThanOrEqual(2);
    expect(summary.emitted).toBeLessThan(20);
    expect(stderr()).toContain(`replay stopped after ${summary.emitted} of 20 events`);
    const [written] = await p.admin.fetchTopicOffsets(target);
    expect(Number(written!.high), 'what the summary counts is what was written').toBe(summary.emitted);
  });
});
