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

/**
 * The `code` of an error printed with `--json`: `usage` for a command line the parser rejects,
 * `bad_input` for an argument or file the command refuses, `environment` for the configuration
 * or a file or database it cannot reach, `failed` for a failure the command found, `forbidden`
 * for an actor refused, `internal` for a crash.
 */
export type ErrorCode = 'usage' | 'bad_input' | 'environment' | 'failed' | 'forbidden' | 'internal';

/** Why a command stopped: the exit code, a sentence for standard error, and its code. */
export interface CommandRefusal {
  readonly exitCode: number;
  readonly message: string;
  /** Default: from the exit code (2 `bad_input`, 3 `forbidden`, 70 `internal`, else `failed`). */
  readonly code?: ErrorCode;
  /** Printed after the message (a stack trace), or as `detail` with `--json`. */
  readonly detail?: string;
}

/** A command's result: 0 for success, or a refusal for standard error. */
export type CommandResult = E.Either<CommandRefusal, void>;

function codeOfExit(exitCode: number): ErrorCode {
  switch (exitCode) {
    case 2:
      return 'bad_input';
    case 3:
      return 'forbidden';
    case 70:
      return 'internal';
    default:
      return 'failed';
  }
}

/**
 * A refusal as standard error shows it: `rewind: message` (and the detail on the lines below),
 * or with `json` one line `{"error":{"code":…,"message":…}}`.
 */
export function formatRefusal(refusal: CommandRefusal, json: boolean): string {
  const { message, detail } = refusal;
  if (!json) return `rewind: ${message}\n${detail === undefined ? '' : `${detail}\n`}`;
  const code = refusal.code ?? codeOfExit(refusal.exitCode);
  const error = { code, message, ...(detail === undefined ? {} : { detail }) };
  return `${JSON.stringify({ error })}\n`;
}

/**
 * Whether errors are printed as JSON: the parsed command line's `--json`, set once before the
 * command runs (see parse-command-line.ts). Module state because a refusal can come before any
 * command does (a bad environment) and from commander itself.
 */
let errorsAsJson = false;

/** Prints errors from now on as JSON (`--json`) or as text. */
export function printErrorsAsJson(json: boolean): void {
  errorsAsJson = json;
}

/** Writes a refusal on standard error, as text or JSON, and sets the process's exit code. */
export function reportRefusal(refusal: CommandRefusal): void {
  process.stderr.write(formatRefusal(refusal, errorsAsJson));
  process.exitCode = refusal.exitCode;
}

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
 * on standard error (JSON with `--json`) and an exit code, and a crash into exit code 70 with its
 * stack.
 */
export async function runCommand(
  command: (io: CommandIo) => Promise<CommandResult>,
): Promise<void> {
  endQuietlyOnClosedPipe();
  const config = readConfigFromEnv();
  if (E.isLeft(config)) return reportEnvironmentError(config.left.message);
  const level = process.env.LOG_LEVEL ?? 'warn';
  if (!LOG_LEVELS.has(level)) {
    return reportEnvironmentError(`LOG_LEVEL: expected one of ${[...LOG_LEVELS].join(', ')}`);
  }
  if (config.right.eventstoreUrl) return reportEnvironmentError(EVENTSTORE_CLI_LIMIT);
  const io: CommandIo = {
    config: config.right,
    out: (line) => process.stdout.write(`${line}\n`),
    logger: createProcessLogger(level),
  };
  try {
    const result = await command(io);
    if (E.isLeft(result)) reportRefusal(result.left);
  } catch (error) {
    const expected = describeEnvironmentError(error);
    if (expected !== undefined) return reportEnvironmentError(expected);
    reportRefusal({
      exitCode: 70,
      message: 'unexpected error',
      detail: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
}

function reportEnvironmentError(message: string): void {
  reportRefusal({ exitCode: 2, code: 'environment', message });
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
