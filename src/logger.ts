import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Write to this file descriptor (default 1, stdout). */
  fd?: number;
  /** Static fields added to every line, e.g. `{ node: 'n1' }`. */
  base?: Record<string, unknown>;
}

/**
 * The root logger of a process. Components take a child: `logger.child({ component: 'raft' })`.
 * JSON lines, one object per event; pretty printing is left to `pino-pretty` on the reader's side.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: opts.fd ?? 1, sync: false }),
  );
}

/** A logger that drops everything: the default for library objects created without one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
