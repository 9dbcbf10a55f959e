import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

let root: Logger | undefined;
/** One child per module name: modules ask once, and setLogLevel can reach them all (pino children keep their level). */
const children = new Map<string, Logger>();

function rootLogger(): Logger {
  root ??= pino(
    { name: 'onex', level: process.env.ONEX_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
    pino.destination({ fd: 2, sync: false }),
  );
  return root;
}

/**
 * The process-wide logger: JSON lines on stderr (stdout belongs to the CLI's output), level from ONEX_LOG_LEVEL
 * (default info). Modules take a child with their name so a line says where it came from.
 */
export function logger(module: string): Logger {
  let child = children.get(module);
  if (!child) {
    child = rootLogger().child({ module });
    children.set(module, child);
  }
  return child;
}

/** Changes the level of every logger, including those already handed out (`onex dev` keeps to warnings). */
export function setLogLevel(level: string): void {
  rootLogger().level = level;
  for (const child of children.values()) child.level = level;
}
