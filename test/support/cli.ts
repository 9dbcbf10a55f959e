import { fileURLToPath } from 'node:url';
import { runProcess, type ProcessRun } from './process.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export type CliRun = ProcessRun;

/** Runs `onex ARGS` from source (node + tsx) as a separate process, the way a user runs it. */
export function runOnex(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<CliRun> {
  return runProcess(process.execPath, ['--import', 'tsx', MAIN, ...args], { ...options, cwd: REPO_ROOT });
}
