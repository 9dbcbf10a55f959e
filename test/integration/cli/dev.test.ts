import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSIONS } from '../../../src/schema/index.js';
import { createKafka } from '../../../src/kafka/index.js';
import { runOnex, spawnOnex } from '../../support/cli.js';
import { consumeMessages, kafkaBrokers } from '../../support/kafka.js';

/** Pids of processes whose command line mentions `needle` (the broker and its watchdog carry their data dir). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      /* the process ended while we looked */
    }
  }
  return pids;
}

/** The environment without KAFKA_BROKERS, so that onex dev starts its own broker. */
function withoutKafkaBrokers(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.KAFKA_BROKERS;
  return env;
}

describe('onex dev', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'onex-dev-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('runs the whole pipeline for 20 s, balances its books and leaves no process behind', async () => {
    const env = withoutKafkaBrokers({ TMPDIR: scratch });
    const before = processesMentioning(scratch);
    expect(before).toEqual([]);
    const run = await runOnex(['dev', '--duration', '20', '--rate', '1000', '--registry-port', '0', '--metrics-port', '0', '--poison-every', '1000'], {
      env,
      timeoutMs: 240_000,
    });
    expect(run.code, run.stderr.slice(-2000)).toBe(0);

    // Not a terminal: plain progress lines, no escape codes.
    expect(run.stderr).toMatch(/^\[\d+s\] produced=\d+ .* versions=/m);
    expect(run.stderr).not.toContain('\u001b[');

    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
    expect(summary.balanced).toBe(true);
    expect(summary.produced).toBeGreaterThan(5_000);
    expect(summary.consumed).toBe(summary.produced - summary.sampled_out);
    expect(summary.rejected).toBe(0);
    expect(summary.sampled_out).toBeGreaterThan(0);
    expect(summary.poison_injected).toBeGreaterThan(0);
    expect(summary.dead_lettered).toBe(summary.poison_injected);
    expect(Object.keys(summary.dead_lettered_by_code)).toEqual(['ONEX_EVENT_604']);
    // Every schema version was produced and reached the handlers.
    expect(Object.keys(summary.produced_by_version).sort()).toEqual([...SCHEMA_VERSIONS]);
    expect(Object.keys(summary.consumed_by_version).sort()).toEqual([...SCHEMA_VERSIONS]);
    const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
    expect(sum(summary.produced_by_version)).toBe(summary.produced);
    expect(sum(summary.consumed_by_version)).toBe(summary.consumed);
    // Versions without a sample_rate field are never sampled: all of them arrive.
    expect(summary.consumed_by_version['1.0.0']).toBe(summary.produced_by_version['1.0.0']);
    expect(summary.consumed_by_version['2.0.0']).toBeLessThan(summary.produced_by_version['2.0.0']);

    // The broker it started (and its watchdog) are gone.
    expect(processesMentioning(scratch)).toEqual([]);
  });

  it('--inspect-port indexes the demo topic and serves the page and the API for a flow the demo produced; Ctrl-C balances', async () => {
    const brokers = kafkaBrokers().join(',');
    const { child, stdout, stderr, exited } = spawnOnex(['dev', '--rate', '200', '--registry-port', '0', '--metrics-port', '0', '--inspect-port', '0', '--poison-every', '0'], {
      env: { ...process.env, KAFKA_BROKERS: brokers, ONEX_LOG_LEVEL: 'error' },
    });
    try {
      const deadline = Date.now() + 90_000;
      let printed: RegExpMatchArray | null = null;
      while (!(printed = /inspect page at (http:\/\/\S+)\/flows\/<correlation-id> \(index (\S+)\.correlations\)/.exec(stderr())) || !stderr().includes('running;')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`onex dev did not print the page address: ${stderr().slice(-1500)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const [, url, topic] = printed;

      // A flow of the demo: the key the most of its first records share (the producer keys by correlation id).
      const records = (await consumeMessages(createKafka({ brokers, clientId: 'dev-test' }), topic!, 60, 60_000)).map((m) => ({ key: m.key?.toString() ?? '', partition: m.partition, offset: m.offset }));
      const byKey = new Map<string, typeof records>();
      for (const r of records) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
      const [id, mine] = [...byKey.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
      expect(mine.length, 'a flow of several events').toBeGreaterThan(1);

      const page = await fetch(`${url}/flows/${id}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      let api: { status: number; body: any } = { status: 0, body: null };
      for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
        const r = await fetch(`${url}/api/correlations/${encodeURIComponent(id)}`);
        api = { status: r.status, body: await r.json() };
        if (api.status === 200) break;
      }
      expect(api.status, JSON.stringify(api.body)).toBe(200);
      const flow = api.body.roots.find((n: { correlation_id: string }) => n.correlation_id === id);
      expect(flow, 'the flow is a root of its tree').toBeDefined();
      const where = new Set<string>(flow.nodes.flatMap((n: { events: Array<{ partition: number; offset: string }> }) => n.events.map((e) => `${e.partition}/${e.offset}`)));
      for (const r of mine) expect(where.has(`${r.partition}/${r.offset}`), `record ${r.partition}/${r.offset} of the flow is in its tree`).toBe(true);

      child.kill('SIGINT');
      expect(await exited, stderr().slice(-1500)).toBe(0);
      const summary = JSON.parse(stdout().trim().split('\n').at(-1)!) as Record<string, any>;
      expect(summary).toMatchObject({ balanced: true, rejected: 0, poison_injected: 0, dead_lettered: 0 });
      expect(summary.produced).toBeGreaterThan(0);
      expect(summary.consumed).toBe(summary.produced - summary.sampled_out);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('says clearly when KAFKA_BROKERS does not answer', async () => {
    const run = await runOnex(['dev', '--duration', '1'], { env: { ...process.env, KAFKA_BROKERS: '127.0.0.1:1' } });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      'ONEX_EVENT_600: KAFKA_BROKERS=127.0.0.1:1 does not answer; start that cluster, or unset KAFKA_BROKERS to run a local broker',
    );
  });

  it('takes the cluster from -b / --bootstrap-server like every command that talks to Kafka, over KAFKA_BROKERS', async () => {
    // KAFKA_BROKERS names the shared broker, which answers; the flag names a port nothing listens on, so only a session
    // that took the flag fails, and it says which setting it used.
    const run = await runOnex(['dev', '--duration', '1', '-b', '127.0.0.1:1'], { env: { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(',') } });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      'ONEX_EVENT_600: --bootstrap-server 127.0.0.1:1 does not answer; start that cluster, or leave out --bootstrap-server to run a local broker',
    );
  });

  it('says clearly when the registry port is in use, and stops what it started', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const run = await runOnex(['dev', '--duration', '1', '--registry-port', String(port), '--metrics-port', '0'], {
        env: { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(',') },
      });
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n').at(-1)).toBe(
        `ONEX_RT_406: port ${port} is in use, so the schema registry cannot listen there; pass --registry-port 0 for a free port`,
      );
    } finally {
      taken.close();
    }
  });

  it('says what to install when java is missing', async () => {
    const empty = join(scratch, 'bin');
    mkdirSync(empty, { recursive: true });
    const env = withoutKafkaBrokers({ PATH: empty, JAVA_HOME: '' });
    const run = await runOnex(['dev', '--duration', '1'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/^ONEX_RT_403: java was not found: install Java 17 or newer/);
  });
});
