import type { Command } from 'commander';

import type { ActorOptions } from './cli-actor.js';
import { runDiffCommand } from './diff-command.js';
import { runForkCommand } from './fork-command.js';
import { runPlanCommand } from './plan-command.js';
import { runCommand } from './run-command.js';
import { runStateCommand } from './state-command.js';

/** Commander's parsed options of a command with the actor options and `--json`. */
export interface CommonOptions extends ActorOptions {
  readonly json?: boolean;
}

function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

/** Adds `--actor`, `--tenant`, `--role` and `--json` to a command. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--actor <id>', 'who runs the command (or REWIND_ACTOR)')
    .option('--tenant <tenant>', "the actor's tenant (or REWIND_TENANT)")
    .option('--role <role>', 'a role of the actor, repeatable (or REWIND_ROLES)', collect)
    .option('--json', 'print JSON');
}

/** The actor options of parsed options. */
export function actorOf(options: CommonOptions): ActorOptions {
  return {
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    ...(options.role === undefined ? {} : { role: options.role }),
  };
}

interface ForkOptions extends CommonOptions {
  at: string;
  input?: string;
  live?: boolean;
  keepFailures?: boolean;
  sagas?: string;
}

function registerForkCommand(program: Command): void {
  withCommonOptions(
    program
      .command('fork')
      .description('what-if: replay to an event and run on with stubbed steps (or --live)')
      .argument('<sagaId>', 'the saga id')
      .requiredOption('--at <n>', 'the event to fork after')
      .option('--input <patch>', 'a JSON merge patch applied to the input')
      .option('--live', 'start a real new saga, caused by the original event')
      .option('--keep-failures', 'dry run: replay recorded step failures instead of stubbing')
      .option('--sagas <module>', 'a module exporting saga definitions'),
  ).action((sagaId: string, options: ForkOptions) =>
    runCommand((io) =>
      runForkCommand(io, sagaId, {
        ...actorOf(options),
        at: options.at,
        live: options.live === true,
        keepFailures: options.keepFailures === true,
        json: options.json === true,
        ...(options.input === undefined ? {} : { input: options.input }),
        ...(options.sagas === undefined ? {} : { sagas: options.sagas }),
      }),
    ),
  );
}

function registerStateCommand(program: Command): void {
  withCommonOptions(
    program
      .command('state')
      .description("a saga's state after one of its events")
      .argument('<sagaId>', 'the saga id')
      .option('--at <n>', 'the event number (revision); default: the last'),
  ).action((sagaId: string, options: CommonOptions & { at?: string }) =>
    runCommand((io) =>
      runStateCommand(io, sagaId, {
        ...actorOf(options),
        json: options.json === true,
        ...(options.at === undefined ? {} : { at: options.at }),
      }),
    ),
  );
}

function registerDiffCommand(program: Command): void {
  withCommonOptions(
    program
      .command('diff')
      .description("what changed in a saga's state between two of its events")
      .argument('<sagaId>', 'the saga id')
      .argument('<a>', 'the earlier event number')
      .argument('<b>', 'the later event number'),
  ).action((sagaId: string, from: string, to: string, options: CommonOptions) =>
    runCommand((io) =>
      runDiffCommand(io, sagaId, from, to, { ...actorOf(options), json: options.json === true }),
    ),
  );
}

function registerPlanCommand(program: Command): void {
  withCommonOptions(
    program
      .command('plan')
      .description('what a rollback of the saga would compensate now, in order')
      .argument('<sagaId>', 'the saga id')
      .option('--sagas <module>', 'a module exporting saga definitions'),
  ).action((sagaId: string, options: CommonOptions & { sagas?: string }) =>
    runCommand((io) =>
      runPlanCommand(io, sagaId, {
        ...actorOf(options),
        json: options.json === true,
        ...(options.sagas === undefined ? {} : { sagas: options.sagas }),
      }),
    ),
  );
}

/** Registers the time-travel commands: fork, state, diff, plan. */
export function registerInspectCommands(program: Command): void {
  registerForkCommand(program);
  registerStateCommand(program);
  registerDiffCommand(program);
  registerPlanCommand(program);
}
