/**
 * The logging port, as the core sees it: the subset of pino's API that Rewind calls. A pino
 * logger satisfies it; the core never imports pino itself.
 */
export interface LogFn {
  (fields: Readonly<Record<string, unknown>>, message: string): void;
  (message: string): void;
}

/** A structured logger: constant messages, data in fields, errors under `err`. */
export interface Logger {
  readonly error: LogFn;
  readonly warn: LogFn;
  readonly info: LogFn;
  readonly debug: LogFn;
  readonly trace: LogFn;
  /** A logger that adds `bindings` to every line (`sagaId`, `step`, `jobId`, `attempt`). */
  child(bindings: Readonly<Record<string, unknown>>): Logger;
}
