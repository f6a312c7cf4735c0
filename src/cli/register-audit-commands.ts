import type { Command } from 'commander';

import { runAuditCommand } from './audit-command.js';
import { runExportCommand } from './export-command.js';
import { runImportCommand } from './import-command.js';
import { runListCommand } from './list-command.js';
import { type OperatorCommandName, runOperatorCommand } from './operator-command.js';
import { actorOf, type CommonOptions, withCommonOptions } from './register-inspect-commands.js';
import { runReplayCommand } from './replay-command.js';
import { runCommand } from './run-command.js';
import { runServeCommand } from './serve-command.js';

const OPERATOR_COMMANDS: readonly [OperatorCommandName, string][] = [
  ['cancel', 'ask a running saga to roll back'],
  ['resume', 'resume a halted saga, with --payload as the halted step output'],
  ['retry', 'put a stalled saga back on the queue, or retry the failed undos of a stuck one'],
  ['undo', 'ask a completed saga to undo every step'],
];

function registerOperatorCommands(program: Command): void {
  for (const [name, description] of OPERATOR_COMMANDS) {
    withCommonOptions(
      program
        .command(name)
        .description(`${description}, as --actor`)
        .argument('<sagaId>', 'the saga id')
        .option('--reason <text>', 'why (cancel, undo)')
        .option('--payload <json>', 'the resume payload (resume)'),
    ).action((sagaId: string, options: CommonOptions & { reason?: string; payload?: string }) =>
      runCommand((io) =>
        runOperatorCommand(io, name, sagaId, {
          ...actorOf(options),
          json: options.json === true,
          ...(options.reason === undefined ? {} : { reason: options.reason }),
          ...(options.payload === undefined ? {} : { payload: options.payload }),
        }),
      ),
    );
  }
}

interface ListOptions extends CommonOptions {
  status?: string;
  saga?: string;
  startedBy?: string;
  ofTenant?: string;
  from?: string;
  before?: string;
}

function registerListCommand(program: Command): void {
  withCommonOptions(
    program
      .command('list')
      .description('list sagas, filtered, among those the actor may read')
      .option('--status <status>', 'running, compensating, completed, compensated or failed')
      .option('--saga <name>', 'saga definition name')
      .option('--started-by <actorId>', 'the actor that started them')
      .option('--of-tenant <tenant>', 'the tenant they belong to')
      .option('--from <time>', 'started at or after (ISO 8601)')
      .option('--before <time>', 'started before (ISO 8601)'),
  ).action((options: ListOptions) => {
    const { json, actor, tenant, role, ...filters } = options;
    return runCommand((io) =>
      runListCommand(io, { ...actorOf({ actor, tenant, role }), ...filters, json: json === true }),
    );
  });
}

function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('every event an actor caused (read as REWIND_ACTOR, default the local operator)')
    .requiredOption('--actor <id>', 'the actor whose events to list')
    .option('--json', 'print JSON lines')
    .action((options: { actor: string; json?: boolean }) =>
      runCommand((io) =>
        runAuditCommand(io, { actor: options.actor, json: options.json === true }),
      ),
    );
}

function registerExportCommand(program: Command): void {
  withCommonOptions(
    program
      .command('export')
      .description('write sagas as NDJSON, one event per line')
      .argument('[sagaIds...]', 'the saga ids')
      .option('--all', 'every saga the actor may read')
      .option('--out <file>', 'write to a file (with a progress bar on a terminal)'),
  ).action((sagaIds: string[], options: CommonOptions & { all?: boolean; out?: string }) =>
    runCommand((io) =>
      runExportCommand(io, sagaIds, {
        ...actorOf(options),
        all: options.all === true,
        json: options.json === true,
        ...(options.out === undefined ? {} : { out: options.out }),
      }),
    ),
  );
}

function registerImportCommand(program: Command): void {
  withCommonOptions(
    program
      .command('import')
      .description('append the sagas of an NDJSON export; a bad line is refused, nothing written')
      .argument('<file>', 'the NDJSON file'),
  ).action((file: string, options: CommonOptions) =>
    runCommand((io) =>
      runImportCommand(io, file, { ...actorOf(options), json: options.json === true }),
    ),
  );
}

function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('fold the sagas of an NDJSON export offline, without a database')
    .requiredOption('--file <f>', 'the NDJSON file')
    .option('--at <n>', 'stop after this event')
    .option('--json', 'print JSON lines')
    .action((options: { file: string; at?: string; json?: boolean }) =>
      runCommand((io) =>
        runReplayCommand(io, {
          file: options.file,
          json: options.json === true,
          ...(options.at === undefined ? {} : { at: options.at }),
        }),
      ),
    );
}

function registerServeCommand(program: Command): void {
  withCommonOptions(
    program
      .command('serve')
      .description('a local web page: sagas, timelines, a slider over the state at each event')
      .option('--port <port>', 'port to listen on', '4000')
      .option('--host <host>', 'address to listen on', '127.0.0.1'),
  ).action((options: CommonOptions & { port: string; host: string }) =>
    runCommand((io) =>
      runServeCommand(io, {
        ...actorOf(options),
        port: options.port,
        host: options.host,
        json: options.json === true,
      }),
    ),
  );
}

/**
 * Registers the audit and operator commands: serve, list, audit, export, import, replay, cancel,
 * resume, retry, undo.
 */
export function registerAuditCommands(program: Command): void {
  registerServeCommand(program);
  registerListCommand(program);
  registerAuditCommand(program);
  registerExportCommand(program);
  registerImportCommand(program);
  registerReplayCommand(program);
  registerOperatorCommands(program);
}
