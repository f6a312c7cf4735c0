import { pino } from 'pino';

import type { Logger } from '../core/logger.js';

/** A logger that writes nothing: the default of every library entry point. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** The logger of the CLI and worker processes: JSON lines on standard error. */
export function createProcessLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level }, pino.destination(2));
}
