import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured logs (pino, JSON lines) on stdout for journald; `P1LOGGER_LOG_LEVEL` or `level` picks the level. */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.P1LOGGER_LOG_LEVEL ?? 'info';
  return pino({ level, base: { name: 'p1logger' } }, options.destination ?? process.stdout);
}

/** A logger that writes nothing: for commands whose stdout carries data, and for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
