import type { Command } from 'commander';

import { printErrorsAsJson, reportRefusal } from './run-command.js';

function fieldOf(value: unknown, field: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, field) : undefined;
}

function forEachCommand(command: Command, visit: (command: Command) => void): void {
  visit(command);
  for (const sub of command.commands) forEachCommand(sub, visit);
}

/** `list` for the list command, '' for the program itself. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/**
 * Commander's message on one line and in Rewind's words: `list: unknown option '--bogus'; see
 * rewind list --help`. Commander puts its "(Did you mean …?)" on a line of its own.
 */
function describeUsageError(message: string, command: Command): string {
  const text = message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\.$/, '');
  const path = commandPath(command);
  return path === '' ? `${text}; see rewind --help` : `${path}: ${text}; see rewind ${path} --help`;
}

/**
 * Whether the raw arguments ask for `--json`, for an error commander raises before it has parsed
 * them. An argument after `--` is an operand, not the option.
 */
function asksForJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Parses the command line and runs the command, with commander's own usage errors (unknown
 * option or command, missing argument) reported like Rewind's: one line on standard error, or a
 * JSON object with `--json`, and exit code 2. `--help` and `--version` exit 0. Applied to every
 * command at parse time, so a command added by `addCommand` (which inherits no settings) is
 * covered too.
 */
export async function parseCommandLine(program: Command, argv: readonly string[]): Promise<void> {
  let failing: Command = program;
  forEachCommand(program, (command) => {
    command.configureOutput({ outputError: () => {} });
    command.exitOverride((error) => {
      failing = command;
      throw error;
    });
  });
  program.hook('preAction', (_program, action) => printErrorsAsJson(action.opts().json === true));

  try {
    await program.parseAsync(argv);
  } catch (error) {
    const code = fieldOf(error, 'code');
    const message = fieldOf(error, 'message');
    if (typeof code !== 'string' || !code.startsWith('commander.')) throw error;
    if (fieldOf(error, 'exitCode') === 0) {
      process.exitCode = 0;
      return;
    }
    // No command given: commander has written the help on standard error already.
    if (code === 'commander.help') {
      process.exitCode = 2;
      return;
    }
    printErrorsAsJson(asksForJson(argv));
    const text = describeUsageError(typeof message === 'string' ? message : code, failing);
    reportRefusal({ exitCode: 2, code: 'usage', message: text });
  }
}
