import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runProcess, type ProcessRun } from './process.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export type CliRun = ProcessRun;

/** Runs `onex ARGS` from source (node + tsx) as a separate process, the way a user runs it. */
export function runOnex(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<CliRun> {
  return runProcess(process.execPath, ['--import', 'tsx', MAIN, ...args], { ...options, cwd: REPO_ROOT });
}

/** `onex ARGS` started from source and left running (for signals): its output so far and its exit code when it ends. */
export interface OnexChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

export function spawnOnex(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): OnexChild {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}
