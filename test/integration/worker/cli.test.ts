import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onexError } from '../../../src/event/index.js';
import { freePort } from '../../../src/dev/index.js';
import { buildDeadLetter, DLQ_HEADERS } from '../../../src/worker/index.js';
import { writeFlags } from '../../support/flags.js';
import { REPO_ROOT, runOnex } from '../../support/cli.js';
import { uniqueTopic } from '../../support/kafka.js';
import { committedTotal, createTopic, encoded, eventOf, produce, produceEvents, startPipeline, waitFor, type Pipeline } from './pipeline.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const RECORDER = fileURLToPath(new URL('../../fixtures/handlers/record-events.mjs', import.meta.url));

let p: Pipeline;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  p = await startPipeline();
  dir = mkdtempSync(join(tmpdir(), 'onex-worker-cli-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await p?.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, KAFKA_BROKERS: p.brokers, SCHEMA_REGISTRY_URL: p.registry.url, ONEX_LOG_LEVEL: 'error', ...extra };
}

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** A long-running `onex ...` as its own process (runOnex waits for the end; these are stopped by a signal). */
function spawnOnex(args: string[], extra: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** `onex worker` with the recording handler module, the way it runs in production. */
function startWorker(args: string[], extra: Record<string, string>): Running {
  return spawnOnex(['worker', '--handlers', RECORDER, ...args], extra);
}

function lines(file: string): string[][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
}

describe('onex consume', () => {
  it('prints decoded events upcast to the target version as JSON lines, exits after --max, and a bad record is one line on stderr', async () => {
    const topic = uniqueTopic('cli-consume');
    await createTopic(p, topic);
    const ids = await produceEvents(p, topic, 5);
    await produce(p, topic, [{ key: 'bad', value: Buffer.from('not avro') }]);
    await produceEvents(p, topic, 5).then((more) => ids.push(...more));
    const group = `g-${topic}`;
    const first = await runOnex(['consume', '--topic', topic, '--group', group, '--from-beginning', '--max', '7'], { env: env() });
    expect(first.code, first.stderr).toBe(0);
    const events = first.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event_id)).toEqual(ids.slice(0, 7));
    expect(events.every((e) => e.schema_version === '2.0.0' && 'trace' in e)).toBe(true);
    expect(first.stderr).toMatch(/^ONEX_EVENT_604: .*skipped\)$/m);
    // The group's progress was committed: the next run continues where the first stopped, here in 1.3.0.
    const second = await runOnex(['consume', '--topic', topic, '--group', group, '--max', '3', '--target-version', '1.3.0'], { env: env() });
    expect(second.code, second.stderr).toBe(0);
    const rest = second.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rest.map((e) => e.event_id)).toEqual(ids.slice(7));
    expect(rest.every((e) => e.schema_version === '1.3.0')).toBe(true);
  });

  it('SIGINT stops it cleanly: exit 0, and the group has committed exactly what was printed', async () => {
    const topic = uniqueTopic('cli-consume-int');
    await createTopic(p, topic);
    await produceEvents(p, topic, 20);
    const group = `g-${topic}`;
    const consume = spawnOnex(['consume', '--topic', topic, '--group', group, '--from-beginning']);
    await waitFor('all 20 printed', () => consume.stdout().split('\n').filter(Boolean).length >= 20, 60_000, 50);
    consume.child.kill('SIGINT');
    expect(await consume.exit).toBe(0);
    expect(consume.stdout().trim().split('\n')).toHaveLength(20);
    expect(await committedTotal(p, group, topic)).toBe(20);
  });

  it('stops quietly when its reader goes away (onex consume | head)', async () => {
    const topic = uniqueTopic('cli-consume-pipe');
    await createTopic(p, topic);
    await produceEvents(p, topic, 2_000);
    const consume = spawnOnex(['consume', '--topic', topic, '--group', `g-${topic}`, '--from-beginning']);
    await waitFor('the first line', () => consume.stdout().includes('\n'), 60_000, 20);
    consume.child.stdout!.destroy();
    expect(await consume.exit).toBe(0);
    expect(consume.stderr()).not.toMatch(/EPIPE|ONEX_SYS_904/);
  });

  it('--timeout exits 0 once no record arrived for that long', async () => {
    const topic = uniqueTopic('cli-consume-idle');
    await createTopic(p, topic);
    const ids = await produceEvents(p, topic, 3);
    const r = await runOnex(['consume', '--topic', topic, '--group', `g-${topic}`, '--from-beginning', '--timeout', '3000'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { event_id: string }).event_id)).toEqual(ids);
  });

  it('without a schema registry it fails with one ONEX line', async () => {
    const { SCHEMA_REGISTRY_URL: _, ...rest } = env();
    const r = await runOnex(['consume', '--topic', 'x', '--group', 'g', '--max', '1'], { env: rest });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^ONEX_CLI_301: .*registry/);
  });
});

describe('onex worker', () => {
  it('killed with SIGKILL mid-run, a fresh worker of the group finishes: every event processed at least once, none lost', async () => {
    const topic = uniqueTopic('cli-kill');
    await createTopic(p, topic, 3);
    const ids = await produceEvents(p, topic, 300);
    const file = join(dir, `${topic}.log`);
    const group = `g-${topic}`;
    const args = ['--topic', topic, '--group', group, '--from-beginning', '--session-timeout', '6000'];
    const first = startWorker(args, { ONEX_TEST_RECORD_FILE: file, ONEX_TEST_HANDLER_DELAY_MS: '20' });
    await waitFor('the first worker to be mid-run', () => lines(file).length >= 60, 90_000, 50);
    first.child.kill('SIGKILL');
    await first.exit;
    const handledBeforeKill = lines(file).length;
    expect(handledBeforeKill).toBeLessThan(300);

    const second = startWorker(args, { ONEX_TEST_RECORD_FILE: file });
    await waitFor('every event handled', () => new Set(lines(file).map((l) => l[0])).size >= 300, 120_000, 200);
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);

    const recorded = lines(file);
    const unique = new Set(recorded.map((l) => l[0]));
    expect(unique).toEqual(new Set(ids));
    // At-least-once: the only repeats are records handled after the last commit of the killed worker.
    const repeats = recorded.length - unique.size;
    expect(repeats).toBeLessThanOrEqual(handledBeforeKill);
    expect(recorded.every((l) => l[2] === '2.0.0')).toBe(true);
    expect(await committedTotal(p, group, topic)).toBe(300);
  });

  it('SIGTERM drains: the worker exits 0, and exactly the records it handled are committed', async () => {
    const topic = uniqueTopic('cli-term');
    await createTopic(p, topic, 2);
    await produceEvents(p, topic, 200);
    const file = join(dir, `${topic}.log`);
    const group = `g-${topic}`;
    const port = await freePort();
    const w = startWorker(['--topic', topic, '--group', group, '--from-beginning', '--metrics-port', String(port)], { ONEX_TEST_RECORD_FILE: file, ONEX_TEST_HANDLER_DELAY_MS: '25' });
    await waitFor('the worker to be mid-run', () => lines(file).length >= 20, 90_000, 50);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^onex_worker_events_processed_total\{event_type="NODE_START",status="handled"\} \d+$/m);
    expect(metrics).toMatch(/^onex_worker_schema_version_total\{version="1\.0\.0"\} \d+$/m);
    expect(metrics).toContain('onex_worker_consumer_lag{');
    w.child.kill('SIGTERM');
    expect(await w.exit, w.stderr()).toBe(0);
    const recorded = lines(file);
    expect(recorded.length).toBeLessThan(200);
    expect(new Set(recorded.map((l) => l[0])).size).toBe(recorded.length);
    expect(await committedTotal(p, group, topic)).toBe(recorded.length);
    expect(w.stderr()).toContain(`worker stopped: ${recorded.length} handled`);
  });
});

describe('onex worker and the onex.worker.cloudevents feature flag', () => {
  it('picks up a change of the flags file while running: structured CloudEvents are dead-lettered (ONEX_EVENT_604) once the flag is off and handled again once it is on, with no restart', async () => {
    const topic = uniqueTopic('cli-flag');
    await createTopic(p, topic);
    await createTopic(p, `${topic}.dlq`);
    const flagsFile = join(dir, `${topic}.flags.json`);
    const recordFile = join(dir, `${topic}.log`);
    writeFlags(flagsFile, { 'onex.worker.cloudevents': true });
    const w = startWorker(['--topic', topic, '--group', `g-${topic}`, '--from-beginning'], { ONEX_TEST_RECORD_FILE: recordFile, ONEX_FLAGS_FILE: flagsFile });

    // The dead letters as they arrive, read by one consumer for the whole test.
    const letters: Array<{ value: string; code: string | undefined }> = [];
    const dlq = p.kafka.consumer({ groupId: `reader-${topic}`, maxWaitTimeInMs: 100 });
    await dlq.connect();
    await dlq.subscribe({ topics: [`${topic}.dlq`], fromBeginning: true });
    void dlq.run({ eachMessage: async ({ message }) => void letters.push({ value: message.value!.toString(), code: message.headers?.[DLQ_HEADERS.errorCode]?.toString() }) });
    try {
      const handled = () => new Set(lines(recordFile).map((l) => l[0]));
      /** A structured-mode CloudEvent (application/cloudevents+json) carrying a 1.3.0 ONEX event, as a foreign producer writes it. */
      const structured = () => {
        const data = eventOf('1.3.0');
        const value = JSON.stringify({ specversion: '1.0', id: data.event_id, source: 'urn:test:flag', type: 'onex.NODE_START', datacontenttype: 'application/json', data });
        return { id: data.event_id as string, value, input: { key: null, value: Buffer.from(value), headers: { 'content-type': 'application/cloudevents+json; charset=UTF-8' } } };
      };
      /** Sends one structured event and waits until the worker has handled it or dead-lettered it. */
      const send = async (): Promise<{ outcome: 'handled' | 'dead-lettered'; code?: string }> => {
        const e = structured();
        await produce(p, topic, [e.input]);
        let letter: (typeof letters)[number] | undefined;
        await waitFor(`structured event ${e.id} handled or dead-lettered`, () => handled().has(e.id) || (letter = letters.find((l) => l.value === e.value)) !== undefined, 30_000, 50);
        return letter ? { outcome: 'dead-lettered', code: letter.code } : { outcome: 'handled' };
      };
      /** Sends structured events one at a time until one has `outcome` (the worker saw the flag change); the outcomes in order. */
      const sendUntil = async (outcome: 'handled' | 'dead-lettered') => {
        const seen: Array<Awaited<ReturnType<typeof send>>> = [];
        while (seen.at(-1)?.outcome !== outcome) {
          expect(seen.length, `no structured event was ${outcome} after ${seen.length} tries`).toBeLessThan(20);
          seen.push(await send());
        }
        return seen;
      };

      expect(await send()).toEqual({ outcome: 'handled' });
      writeFlags(flagsFile, { 'onex.worker.cloudevents': false });
      const whileOff = await sendUntil('dead-lettered');
      // Before the worker saw the change it handled them; after it, it dead-letters as an Avro record that is not one.
      expect(whileOff.slice(0, -1).every((s) => s.outcome === 'handled')).toBe(true);
      expect(whileOff.at(-1)).toEqual({ outcome: 'dead-lettered', code: 'ONEX_EVENT_604' });
      expect(await send()).toEqual({ outcome: 'dead-lettered', code: 'ONEX_EVENT_604' });
      // ONEX's own records are not what the flag switches: still handled while it is off.
      const [binary] = await produceEvents(p, topic, 1, '1.3.0');
      await waitFor('an ONEX Avro record handled while the flag is off', () => handled().has(binary!), 30_000, 50);

      writeFlags(flagsFile, { 'onex.worker.cloudevents': true });
      const whileOn = await sendUntil('handled');
      expect(whileOn.slice(0, -1).every((s) => s.outcome === 'dead-lettered' && s.code === 'ONEX_EVENT_604')).toBe(true);
      expect(await send()).toEqual({ outcome: 'handled' });

      // One process did all of it: it never exited, and it stops cleanly now.
      expect(w.child.exitCode).toBeNull();
      w.child.kill('SIGTERM');
      expect(await w.exit, w.stderr()).toBe(0);
    } finally {
      await dlq.disconnect();
    }
  });
});

describe('onex dlq redrive', () => {
  it('lists with --dry-run, then re-publishes dead letters to their source topic, where they decode and upcast again', async () => {
    const source = uniqueTopic('cli-redrive');
    const dlqTopic = `${source}.dlq`;
    await createTopic(p, source);
    await createTopic(p, dlqTopic);
    const letters = [encoded(p, '1.0.0'), encoded(p, '1.2.0')];
    await produce(
      p,
      dlqTopic,
      letters.map((l, i) => {
        const m = buildDeadLetter(
          { topic: source, partition: 0, offset: String(i), key: Buffer.from(l.input.key!), value: l.input.value },
          { error: onexError('ONEX_EVENT_610', 'the handler failed'), attempts: 3, groupId: 'billing' },
        );
        return { key: (m.key as Buffer).toString(), value: m.value as Buffer, headers: m.headers! };
      }),
    );
    const dry = await runOnex(['dlq', 'redrive', '--topic', dlqTopic, '--dry-run'], { env: env() });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { action: string }).action)).toEqual(['would-redrive', 'would-redrive']);
    const real = await runOnex(['dlq', 'redrive', '--topic', dlqTopic], { env: env() });
    expect(real.code, real.stderr).toBe(0);
    expect(real.stderr).toContain('redrove 2 letter(s) (ONEX_EVENT_610 2)');
    const consumed = await runOnex(['consume', '--topic', source, '--group', `g-${source}`, '--from-beginning', '--max', '2'], { env: env() });
    expect(consumed.code, consumed.stderr).toBe(0);
    const events = consumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event_id)).toEqual(letters.map((l) => l.id));
    expect(events.every((e) => e.schema_version === '2.0.0')).toBe(true);
    const again = await runOnex(['dlq', 'redrive', '--topic', dlqTopic], { env: env() });
    expect(again.stderr).toContain('redrove 0 letter(s)');
  });
});
