#!/usr/bin/env node
import { Command } from 'commander';

import { ENGINE_VERSION } from '../version.js';
import { type DemoCommandOptions, runDemoCommand } from './demo-command.js';
import { runHistoryCommand } from './history-command.js';
import { runJobsCommand } from './jobs-command.js';
import { runMigrateCommand } from './migrate-command.js';
import { parseCommandLine } from './parse-command-line.js';
import { registerAuditCommands } from './register-audit-commands.js';
import { registerInspectCommands } from './register-inspect-commands.js';
import { runCommand } from './run-command.js';
import { runVerifyCommand } from './verify-command.js';
import { runWorkerCommand, type WorkerCommandOptions } from './worker-command.js';

const program = new Command()
  .name('rewind')
  .description('Event-sourced sagas on Postgres: run, inspect and replay them.')
  .version(ENGINE_VERSION);

program
  .command('migrate')
  .description('apply pending database migrations (DATABASE_URL, or the embedded database)')
  .action(() => runCommand((io) => runMigrateCommand(io)));

program
  .command('demo')
  .description('run the order-fulfilment example on the embedded database')
  .option('--orders <file>', 'orders CSV')
  .option('--concurrency <n>', 'sagas run at once (default: 16)')
  .action((options: DemoCommandOptions) => runCommand((io) => runDemoCommand(io, options)));

program
  .command('history')
  .description("print one saga's timeline")
  .argument('<sagaId>', 'the saga id')
  .option('--json', 'print the events as JSON lines')
  .option('--actor <id>', 'who reads (or REWIND_ACTOR); default the local operator')
  .option('--tenant <tenant>', "the actor's tenant (or REWIND_TENANT)")
  .action((sagaId: string, options: { json?: boolean; actor?: string; tenant?: string }) =>
    runCommand((io) =>
      runHistoryCommand(io, sagaId, {
        json: options.json === true,
        ...(options.actor === undefined ? {} : { actor: options.actor }),
        ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
      }),
    ),
  );

program
  .command('verify')
  .description('replay stored histories against the saga definitions and report divergences')
  .option('--saga <id>', 'verify this saga only')
  .option('--json', 'print one JSON line per saga')
  .option('--sagas <module>', 'a module exporting saga definitions to verify against')
  .option('--integrity', "check every stream's hash chain: name edited, removed, moved events")
  .action((options: { saga?: string; json?: boolean; sagas?: string; integrity?: boolean }) =>
    runCommand((io) =>
      runVerifyCommand(io, {
        json: options.json === true,
        integrity: options.integrity === true,
        ...(options.saga === undefined ? {} : { saga: options.saga }),
        ...(options.sagas === undefined ? {} : { sagas: options.sagas }),
      }),
    ),
  );

registerInspectCommands(program);
registerAuditCommands(program);

program
  .command('jobs')
  .description('show the depth of every job queue by state')
  .option('--json', 'print one JSON line per queue and state')
  .action((options: { json?: boolean }) =>
    runCommand((io) => runJobsCommand(io, { json: options.json === true })),
  );

program
  .command('worker')
  .description('run projector, saga worker, job workers, cron and pruning until SIGTERM/SIGINT')
  .option('--sagas <module>', 'a module exporting saga definitions to run')
  .option('--workers <module>', 'a module exporting job workers (defineWorker) and cron schedules')
  .option('--queue <name...>', 'run only these queues (default: all of them)')
  .option('--concurrency <n>', 'jobs run at once by each queue (default: 10)')
  .option('--grace-ms <ms>', 'how long running jobs may finish after a signal (default: 10000)')
  .option('--retention-ms <ms>', 'how long ended jobs are kept (default: 604800000, 7 days)')
  .action((options: WorkerCommandOptions) => runCommand((io) => runWorkerCommand(io, options)));

await parseCommandLine(program, process.argv);
