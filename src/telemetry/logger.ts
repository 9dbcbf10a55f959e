import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

let root: Logger | undefined;

/**
 * The process-wide logger: JSON lines on stderr (stdout belongs to the CLI's output), level from ONEX_LOG_LEVEL
 * (default info). Modules take a child with their name so a line says where it came from.
 */
export function logger(module: string): Logger {
  root ??= pino(
    { name: 'onex', level: process.env.ONEX_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
    pino.destination({ fd: 2, sync: false }),
  );
  return root.child({ module });
}
