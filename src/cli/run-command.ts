import * as E from 'fp-ts/lib/Either.js';
import type { Logger } from '../core/logger.js';
import { createProcessLogger } from '../ports/logger.js';
import { type RewindConfig, readConfigFromEnv } from '../runtime/config.js';

/** What a command gets: its configuration, output streams and logger. */
export interface CommandIo {
  readonly config: RewindConfig;
  readonly out: (line: string) => void;
  readonly logger: Logger;
}

/** A command's result: 0 for success, or an exit code with a message for standard error. */
export type CommandResult = E.Either<{ readonly exitCode: number; readonly message: string }, void>;

/**
 * A reader that closes the pipe early (`rewind list | head`) is not an error: stop writing
 * quietly instead of crashing with EPIPE.
 */
function endQuietlyOnClosedPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

/**
 * Runs a command at the process edge: reads the configuration, turns a refusal into a message
 * on standard error and an exit code, and a crash into exit code 70 with its stack.
 */
export async function runCommand(
  command: (io: CommandIo) => Promise<CommandResult>,
): Promise<void> {
  endQuietlyOnClosedPipe();
  const config = readConfigFromEnv();
  if (E.isLeft(config)) {
    process.stderr.write(`rewind: ${config.left.message}\n`);
    process.exitCode = 2;
    return;
  }
  const level = process.env.LOG_LEVEL ?? 'warn';
  if (!LOG_LEVELS.has(level)) {
    process.stderr.write(`rewind: LOG_LEVEL: expected one of ${[...LOG_LEVELS].join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  if (config.right.eventstoreUrl) {
    process.stderr.write(`rewind: ${EVENTSTORE_CLI_LIMIT}\n`);
    process.exitCode = 2;
    return;
  }
  const io: CommandIo = {
    config: config.right,
    out: (line) => process.stdout.write(`${line}\n`),
    logger: createProcessLogger(level),
  };
  try {
    const result = await command(io);
    if (E.isLeft(result)) {
      process.stderr.write(`rewind: ${result.left.message}\n`);
      process.exitCode = result.left.exitCode;
    }
  } catch (error) {
    const expected = describeEnvironmentError(error);
    if (expected !== undefined) {
      process.stderr.write(`rewind: ${expected}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(
      `rewind: unexpected error\n${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exitCode = 70;
  }
}

const LOG_LEVELS: ReadonlySet<string> = new Set([
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
]);

const EVENTSTORE_CLI_LIMIT =
  'EVENTSTORE_URL: the rewind command reads and writes events in Postgres or the embedded ' +
  'database only; use EventStoreDB from code (openEventStore), or unset EVENTSTORE_URL';

function fieldOf(error: unknown, field: string): unknown {
  return typeof error === 'object' && error !== null ? Reflect.get(error, field) : undefined;
}

/**
 * A sentence for what goes wrong around a command rather than inside it: a missing file, a
 * database that does not answer, a CSV that does not decode. Undefined for anything else, which
 * is a bug and gets its stack.
 */
function describeEnvironmentError(error: unknown): string | undefined {
  const code = fieldOf(error, 'code');
  const message = fieldOf(error, 'message');
  const text = typeof message === 'string' ? message : String(error);
  switch (code) {
    case 'ENOENT':
    case 'EACCES':
    case 'EISDIR':
      return `cannot read ${String(fieldOf(error, 'path') ?? 'a file')}: ${text}`;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'ETIMEDOUT':
    case '28P01':
    case '3D000':
      return `cannot reach the database (DATABASE_URL): ${text}`;
    case 'CSV_INVALID':
      return text;
    default:
      return undefined;
  }
}

/** A refusal of bad input or state, with exit code 1 (or `exitCode`). */
export function refuse(message: string, exitCode = 1): CommandResult {
  return E.left({ exitCode, message });
}

export const succeed: CommandResult = E.right(undefined);
