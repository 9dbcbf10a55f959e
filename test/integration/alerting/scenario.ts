import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { formatTimestamp, type AnyOnexEvent } from '../../../src/event/index.js';
import { alertEvent, loadRules, replayRules } from '../../../src/processors/alerting/index.js';
import { REPO_ROOT } from '../../support/cli.js';
import { committedTotal, createTopic, eventOf, readTopic, waitFor, type Pipeline, type ReadRecord } from '../worker/pipeline.js';

/**
 * The exactly-once scenarios of `onex alerts run` as a real process, on whatever Kafka a pipeline points at: the
 * single shared broker (test/integration/alerting/exactly-once.test.ts) or the 3-node cluster (test/faults). The
 * reference is the same rules replayed with no broker over each partition's events in offset order (the watermark is
 * per partition, so that is what one uninterrupted processor produces); the output topic is read committed and must
 * hold each transition once.
 */

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

export const RULES = `
rules:
  - name: burst
    kind: threshold
    match: 'event.event_type == "NODE_FAILURE"'
    by: [node_id]
    window: 2s
    count: 3
  - name: silent
    kind: absence
    match: 'event.event_type == "NODE_SUCCESS"'
    by: [node_id]
    window: 3s
`;
export const rules = loadRules(RULES).rules;

export interface Sent {
  partition: number;
  event: Record<string, unknown>;
  value: Buffer;
}

export interface Run {
  child: ChildProcess;
  /** Transition lines printed so far (printed as processed, before the commit). */
  transitions: () => number;
  /** The partitions of the last 'joined the processor group' log line, and whether a restore applied records. */
  assigned: () => number[];
  restoredRecords: () => number;
  exit: Promise<number | null>;
}

export function alertsScenario(p: Pipeline, children: ChildProcess[]) {
  const dir = mkdtempSync(join(tmpdir(), 'onex-alerts-eo-'));
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, RULES);

  /**
   * `perNode` events for each of `nodes` nodes (node j on partition j % partitions), in event-time order: bursts of
   * three NODE_FAILUREs and a NODE_SUCCESS 100 ms apart, a burst every 6 s. Each burst fires `burst` and resolves it
   * 2 s later; each 6 s gap fires `silent` 3 s after the success and resolves it with the next one.
   */
  function stream(nodes: number, perNode: number, partitions: number): Sent[] {
    const t0 = Date.UTC(2026, 0, 1);
    const out: Array<Sent & { t: number }> = [];
    for (let j = 0; j < nodes; j++) {
      for (let k = 0; k < perNode; k++) {
        const t = t0 + Math.floor(k / 4) * 6_000 + (k % 4) * 100 + j * 7;
        const success = k % 4 === 3;
        const event = eventOf('2.0.0', {
          node_id: `node_${j}`,
          event_type: success ? 'NODE_SUCCESS' : 'NODE_FAILURE',
          timestamp: formatTimestamp(t * 1000),
          metadata: success ? { input_state: { k }, output_state: { ok: true } } : { input_state: { k }, error: 'boom' },
        });
        out.push({ t, partition: j % partitions, event, value: p.codec.encode(event, '2.0.0') });
      }
    }
    return out.sort((a, b) => a.t - b.t);
  }

  /** What one uninterrupted processor writes: each partition's events through the rules, as alert event lines. */
  function expected(sent: Sent[], partitions: number): string[] {
    const lines: string[] = [];
    for (let part = 0; part < partitions; part++) {
      const events = sent.filter((s) => s.partition === part).map((s) => ({ event: s.event as unknown as AnyOnexEvent, writer: '2.0.0' as const }));
      for (const t of replayRules(rules, events, undefined, part)) {
        const e = alertEvent(t);
        if (e) lines.push(line(e));
      }
    }
    return lines.sort();
  }

  function line(e: Record<string, unknown>): string {
    const m = (e.metadata as { untyped: { rule: string; key: { node_id: string } } }).untyped;
    return `${String(e.event_id)} ${m.rule} ${m.key.node_id} ${String(e.event_type)} ${new Date(Date.parse(String(e.timestamp))).toISOString()}`;
  }

  async function decodeAll(records: ReadRecord[]): Promise<string[]> {
    const events = await Promise.all(records.map(async (r) => (await p.codec.decode<Record<string, unknown>>(r.value!, '2.0.0')).event));
    return events.map(line).sort();
  }

  /** Read committed after the writers stopped: not one record more than `n` (a duplicate beyond them would show). */
  async function expectNoMore(topic: string, n: number): Promise<void> {
    await expect(readTopic(p, topic, n + 1, 4_000)).rejects.toThrow(`read ${n} of ${n + 1} records`);
  }

  async function produceSlowly(topic: string, sent: Sent[], chunk: number, pauseMs: number): Promise<void> {
    for (let i = 0; i < sent.length; i += chunk) {
      await p.producer.send({ topic, acks: -1, messages: sent.slice(i, i + chunk).map((s) => ({ key: String(s.event.node_id), value: s.value, partition: s.partition })) });
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  function runAlerts(topic: string, group: string, out: string): Run {
    const args = [
      '--import', 'tsx', MAIN, 'alerts', 'run', '--rules', rulesFile, '--topic', topic, '--group', group, '--alerts-topic', out,
      '--from-beginning', '--allowed-lateness', '0s', '--tick', 'off', '--session-timeout', '6s', '-b', p.brokers, '--registry', p.registry.url,
    ];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ONEX_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const logs = (msg: string) =>
      stderr
        .split('\n')
        .filter((l) => l.includes(msg))
        .map((l) => JSON.parse(l) as { partitions: number[]; records?: number });
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    void exit.then((code) => code && process.stderr.write(`onex alerts run exited ${code}: ${stderr.slice(-2000)}\n`));
    return {
      child,
      transitions: () => stdout.split('\n').filter((l) => / (pending|firing|resolved) /.test(l)).length,
      assigned: () => logs('joined the processor group').at(-1)?.partitions ?? [],
      restoredRecords: () => logs('state restored from the changelog').reduce((n, l) => n + (l.records ?? 0), 0),
      exit,
    };
  }

  async function kill(r: Run): Promise<void> {
    r.child.kill('SIGKILL');
    await r.exit;
  }

  /**
   * SIGKILLed mid-stream at several points and restarted: in full flow once something was committed, at its first
   * transition after a restore (its first transaction open), after 150 more output records; then it runs to the end.
   * Every ALERT transition exactly once.
   */
  async function killAndRestart(o: { topic: string; out: string }): Promise<{ transitions: number; kills: number }> {
    const group = `alerts-eo-${randomUUID()}`;
    await createTopic(p, o.topic, 3);
    await createTopic(p, o.out, 1);
    const sent = stream(12, 200, 3);
    const want = expected(sent, 3);
    expect(want.length).toBeGreaterThan(1_500);
    // Input keeps arriving for ~15 s, in small batches, so the kills fall between and inside many transactions; the
    // last quarter is held back until after the third kill, so no kill can come after the input is all in (on a
    // loaded machine the three restarts can outlast any fixed feeding time).
    const held = Math.floor((sent.length * 3) / 4);
    const feeding = produceSlowly(o.topic, sent.slice(0, held), 60, 500);
    const inputDone = async () => (await committedTotal(p, group, o.topic)) === sent.length;

    const a = runAlerts(o.topic, group, o.out);
    await waitFor('the first run to commit alerts', async () => a.transitions() >= 200 && (await p.admin.fetchTopicOffsets(o.out))[0]!.high !== '0', 50_000);
    await kill(a);
    const b = runAlerts(o.topic, group, o.out);
    await waitFor('the second run to process', () => b.transitions() > 0, 50_000);
    await kill(b);
    expect(b.restoredRecords()).toBeGreaterThan(0);
    const high = async () => Number((await p.admin.fetchTopicOffsets(o.out))[0]!.high);
    const before = await high();
    const c = runAlerts(o.topic, group, o.out);
    await waitFor('the third run to write', async () => (await high()) > before + 150, 50_000);
    await kill(c);
    await feeding;
    await produceSlowly(o.topic, sent.slice(held), 60, 0);
    const d = runAlerts(o.topic, group, o.out);
    await waitFor('the last run to commit all input', inputDone, 50_000);
    d.child.kill('SIGTERM');
    await d.exit;
    const got = await decodeAll(await readTopic(p, o.out, want.length, 30_000));
    // Named apart so a failure says which transitions were repeated or lost, not just that 2,000 lines differ.
    expect({ extra: got.filter((g) => !want.includes(g)), missing: want.filter((w) => !got.includes(w)) }).toEqual({ extra: [], missing: [] });
    expect(got).toEqual(want);
    await expectNoMore(o.out, want.length);
    return { transitions: want.length, kills: 3 };
  }

  return { stream, expected, decodeAll, expectNoMore, produceSlowly, runAlerts, killAndRestart };
}
