import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { createLogUpdate } from 'log-update';
import { createWorker, type Worker } from '../../worker/index.js';
import { parsePositiveInt } from '../args.js';
import { ProfileBoard } from '../profile/board.js';
import { addConnectionOptions, decoderFrom, kafkaFrom, runUntilStopped, type ConnectionFlags } from './consume.js';

interface ProfileFlags extends ConnectionFlags {
  topic: string;
  node?: string;
  json?: boolean;
  fromBeginning?: boolean;
  max?: number;
  timeout?: number;
}

export const DEFAULT_PROFILE_TOPIC = 'onex.profiles';

/**
 * `onex profile`: a live, top-like table of the PERFORMANCE_PROFILE events arriving on a topic (the latest window of
 * every node and operation, slowest p99 first, with the p99's trend against the window before); `--json` prints one
 * row per profile as a JSON line instead. Reads with a group of its own, committing nothing that matters.
 */
export function registerProfileCommands(program: Command): void {
  addConnectionOptions(
    program
      .command('profile')
      .description('live table of PERFORMANCE_PROFILE events: operations by p99, with trends')
      .option('--topic <topic>', 'topic the profiler emits to', DEFAULT_PROFILE_TOPIC)
      .option('--node <node_id>', 'only the profiles of this node')
      .option('--json', 'one JSON line per profile (with its p99 trend) instead of the table')
      .option('--from-beginning', 'read the topic from its start (default: profiles arriving from now)')
      .option('--max <n>', 'exit after this many profiles', parsePositiveInt)
      .option('--timeout <ms>', 'exit when no profile arrived for this long', parsePositiveInt),
  ).action(async (opts: ProfileFlags) => {
    const board = new ProfileBoard(opts.node);
    const live = !opts.json && process.stdout.isTTY ? createLogUpdate(process.stdout) : undefined;
    let seen = 0;
    let dirty = false;
    let idle: NodeJS.Timeout | undefined;
    let worker: Worker | undefined;
    const armIdle = () => {
      if (opts.timeout === undefined) return;
      clearTimeout(idle);
      idle = setTimeout(() => void worker?.stop(), opts.timeout);
    };
    const draw = () => {
      if (!dirty && seen > 0) return;
      dirty = false;
      const table = board.render(Math.max(5, (process.stdout.rows ?? 40) - 4));
      const header = `onex profile: ${opts.topic}${opts.node ? `, node ${opts.node}` : ''}, ${seen} profiles`;
      if (live) live(`${header}\n\n${table}`);
      else if (!opts.json && seen > 0) process.stdout.write(`${header}\n${table}\n\n`);
    };
    worker = createWorker({
      kafka: kafkaFrom(opts),
      groupId: `onex-profile-${randomUUID()}`,
      topics: opts.topic,
      decoder: decoderFrom(opts),
      targetVersion: '2.0.0',
      fromBeginning: opts.fromBeginning ?? false,
      concurrency: 1,
      validation: 'off',
      deadLetter: false,
      retry: { maxAttempts: 1 },
      handlers: {
        '*': (event) => {
          if (opts.max !== undefined && seen >= opts.max) return;
          const row = board.add(event as unknown as Record<string, unknown>);
          if (!row) return;
          seen++;
          dirty = true;
          armIdle();
          if (opts.json) process.stdout.write(`${JSON.stringify(row)}\n`);
          if (opts.max !== undefined && seen >= opts.max) void worker!.stop();
        },
      },
      onFailure: (f) => process.stderr.write(`${f.error.code}: ${f.error.message} (${f.record.topic}[${f.record.partition}]@${f.record.offset}, skipped)\n`),
    });
    const tick = opts.json ? undefined : setInterval(draw, 1_000);
    draw();
    try {
      await runUntilStopped(worker, armIdle);
    } finally {
      if (tick) clearInterval(tick);
      clearTimeout(idle);
      dirty = true;
      draw();
      live?.done();
    }
  });
}
