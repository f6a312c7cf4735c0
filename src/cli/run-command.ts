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
  const io: CommandIo = {
    config: config.right,
    out: (line) => process.stdout.write(`${line}\n`),
    logger: createProcessLogger(process.env.LOG_LEVEL ?? 'warn'),
  };
  try {
    const result = await command(io);
    if (E.isLeft(result)) {
      process.stderr.write(`rewind: ${result.left.message}\n`);
      process.exitCode = result.left.exitCode;
    }
  } catch (error) {
    process.stderr.write(
      `rewind: unexpected error\n${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exitCode = 70;
  }
}

/** A refusal of bad input or state, with exit code 1 (or `exitCode`). */
export function refuse(message: string, exitCode = 1): CommandResult {
  return E.left({ exitCode, message });
}

export const succeed: CommandResult = E.right(undefined);
