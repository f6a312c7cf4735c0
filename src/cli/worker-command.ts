import * as E from 'fp-ts/lib/Either.js';

import { SAGA_QUEUE } from '../../projections/job-feeder.js';
import type { AnySagaDefinition } from '../core/definition.js';
import type { Logger } from '../core/logger.js';
import type { SqlClient } from '../ports/sql.js';
import type { CronSchedule } from '../queue/cron/cron-schedule.js';
import { CronScheduler } from '../queue/cron/cron-scheduler.js';
import { JobPruner } from '../queue/job-pruner.js';
import { dispatchJobs, type WorkerDefinition } from '../queue/worker/define-worker.js';
import { JobWorker } from '../queue/worker/job-worker.js';
import { openMigratedDatabase, Rewind } from '../runtime/rewind.js';
import {
  decodeArgument,
  decodeOptionalArgument,
  NonEmptyArgument,
  WholeNumberArgument,
} from './cli-arguments.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { importSagasModule, loadSagaDefinitions } from './saga-definitions.js';
import { loadWorkersModule } from './worker-modules.js';

/** Options of `rewind worker`, as typed on the command line; decoded by the command. */
export interface WorkerCommandOptions {
  /** A module of saga definitions, run beside the built-in order-fulfilment saga. */
  readonly sagas?: string;
  /** A module of plain job workers (`defineWorker`), one worker per queue. */
  readonly workers?: string;
  /** Run only these queues. Default: the saga queue and every queue of `workers`. */
  readonly queue?: readonly string[];
  /** Jobs run at once by each queue's worker. Default: 10. */
  readonly concurrency?: string;
  /** How long running jobs may take to finish after SIGTERM or SIGINT. Default: 10000. */
  readonly graceMs?: string;
  /** How long ended jobs are kept before they are pruned. Default: 7 days. */
  readonly retentionMs?: string;
}

const DEFAULT_CONCURRENCY = 10;
const DEFAULT_GRACE_MS = 10_000;
const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** What one worker process runs, decoded from the arguments. */
interface WorkerPlan {
  /** The definitions of `--sagas`, run beside the built-in ones. */
  readonly sagas: readonly AnySagaDefinition[];
  readonly runSagas: boolean;
  readonly jobQueues: ReadonlyMap<string, readonly WorkerDefinition<never>[]>;
  /** The cron schedules of `--workers`, registered and ticked by this process. */
  readonly cron: readonly CronSchedule[];
  readonly concurrency: number;
  readonly graceMs: number;
  readonly retentionMs: number;
}

/** Which queues to run: all of them, or those `--queue` names, each of which must have a worker. */
function selectQueues(
  available: readonly string[],
  requested: readonly string[] | undefined,
): E.Either<string, ReadonlySet<string>> {
  if (requested === undefined || requested.length === 0) return E.right(new Set(available));
  const unknown = requested.find((queue) => !available.includes(queue));
  if (unknown !== undefined) {
    return E.left(
      `worker: --queue ${unknown}: no worker runs it (queues: ${available.join(', ')})`,
    );
  }
  return E.right(new Set(requested));
}

interface WorkerArguments {
  readonly concurrency: number;
  readonly graceMs: number;
  readonly retentionMs: number;
  readonly sagasModule: string | undefined;
  readonly workersModule: string | undefined;
}

/** Decodes the numbers and module paths, or names the first bad one. */
function decodeWorkerArguments(options: WorkerCommandOptions): E.Either<string, WorkerArguments> {
  const concurrency = decodeArgument(
    WholeNumberArgument(1),
    'worker: --concurrency',
    options.concurrency ?? String(DEFAULT_CONCURRENCY),
  );
  if (E.isLeft(concurrency)) return concurrency;
  const graceMs = decodeArgument(
    WholeNumberArgument(0),
    'worker: --grace-ms',
    options.graceMs ?? String(DEFAULT_GRACE_MS),
  );
  if (E.isLeft(graceMs)) return graceMs;
  const retentionMs = decodeArgument(
    WholeNumberArgument(0),
    'worker: --retention-ms',
    options.retentionMs ?? String(DEFAULT_RETENTION_MS),
  );
  if (E.isLeft(retentionMs)) return retentionMs;
  const sagas = decodeOptionalArgument(NonEmptyArgument, 'worker: --sagas', options.sagas);
  if (E.isLeft(sagas)) return sagas;
  const workers = decodeOptionalArgument(NonEmptyArgument, 'worker: --workers', options.workers);
  if (E.isLeft(workers)) return workers;
  return E.right({
    concurrency: concurrency.right,
    graceMs: graceMs.right,
    retentionMs: retentionMs.right,
    sagasModule: sagas.right,
    workersModule: workers.right,
  });
}

/** Decodes the arguments and loads the modules, before anything is opened or written. */
async function planWorkers(options: WorkerCommandOptions): Promise<E.Either<string, WorkerPlan>> {
  const decoded = decodeWorkerArguments(options);
  if (E.isLeft(decoded)) return decoded;
  const { sagasModule, workersModule, ...numbers } = decoded.right;

  const sagas = await importSagasModule('worker', sagasModule);
  if (E.isLeft(sagas)) return sagas;
  const module =
    workersModule === undefined
      ? E.right({ workers: new Map(), cron: [] })
      : await loadWorkersModule(workersModule);
  if (E.isLeft(module)) return module;
  const { workers, cron } = module.right;
  const selected = selectQueues([SAGA_QUEUE, ...workers.keys()], options.queue);
  if (E.isLeft(selected)) return selected;

  return E.right({
    sagas: sagas.right,
    runSagas: selected.right.has(SAGA_QUEUE),
    jobQueues: new Map([...workers].filter(([queue]) => selected.right.has(queue))),
    cron,
    ...numbers,
  });
}

/** The workers of a process, started; `stop` drains them and returns when all state is written. */
interface StartedWorkers {
  readonly queues: readonly string[];
  stop(graceMs: number): Promise<void>;
}

async function startWorkers(sql: SqlClient, plan: WorkerPlan, logger: Logger) {
  const stops: ((graceMs: number) => Promise<void>)[] = [];
  const queues: string[] = [];
  let afterWorkers = async () => {};
  const started: StartedWorkers = {
    queues,
    async stop(graceMs) {
      await Promise.all(stops.map((stop) => stop(graceMs)));
      // Stopped after the workers, so the events their last steps append still become jobs.
      await afterWorkers();
    },
  };
  try {
    if (plan.runSagas) {
      const registry = loadSagaDefinitions(sql, plan.sagas);
      const rewind = new Rewind({ sql, sagas: registry.all(), logger });
      const projector = rewind.startProjector();
      afterWorkers = async () => {
        await projector.stop();
        await rewind.close();
      };
      const worker = rewind.createWorker({ concurrency: plan.concurrency });
      worker.start();
      stops.push((graceMs) => worker.stop(graceMs));
      queues.push(SAGA_QUEUE);
    }
    for (const [queue, definitions] of plan.jobQueues) {
      const handler = dispatchJobs(definitions);
      const worker = new JobWorker({ sql, queue, handler, concurrency: plan.concurrency, logger });
      await worker.start();
      stops.push((graceMs) => worker.stop(graceMs));
      queues.push(queue);
    }
    stops.push(await startMaintenance(sql, plan, logger));
  } catch (error) {
    // What started must stop before the caller closes the pool under it.
    await started.stop(0);
    throw error;
  }
  return started;
}

/**
 * The pruner of ended jobs, and the cron scheduler when `--workers` exports schedules; every
 * worker process runs both (pruners share the work, and only the leader inserts cron jobs).
 */
async function startMaintenance(sql: SqlClient, plan: WorkerPlan, logger: Logger) {
  const pruner = new JobPruner({ sql, retentionMs: plan.retentionMs, logger });
  pruner.start();
  if (plan.cron.length === 0) return () => pruner.stop();
  const cron = new CronScheduler({ sql, schedules: plan.cron, logger });
  const started = await cron.start();
  if (E.isLeft(started)) {
    await pruner.stop();
    // planWorkers read every expression already: a schedule refused here is a bug of ours.
    throw new Error(`cron schedule ${started.left.name} refused: ${started.left.message}`);
  }
  return async () => {
    await Promise.all([cron.stop(), pruner.stop()]);
  };
}

/**
 * Resolves with the first SIGTERM or SIGINT. The handlers go at once, so a second signal gets
 * Node's default and ends the process without waiting: jobs it held are rescued when their
 * leases run out.
 */
function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * `rewind worker [--sagas <module>] [--workers <module>] [--queue <name...>] [--concurrency n]
 * [--grace-ms ms] [--retention-ms ms]`: runs the projector and a saga worker (the built-in
 * order-fulfilment saga and those of `--sagas`), a job worker for each queue of the `--workers`
 * module, the cron schedules that module exports, and the pruner of ended jobs, until SIGTERM
 * or SIGINT. Then it stops fetching, lets running jobs finish for `--grace-ms`, hands the others
 * back as runnable, and closes the database last. Bad arguments exit with code 2 before anything
 * is opened.
 */
export async function runWorkerCommand(
  io: CommandIo,
  options: WorkerCommandOptions,
): Promise<CommandResult> {
  const plan = await planWorkers(options);
  if (E.isLeft(plan)) return refuse(plan.left, 2);
  const stopSignal = waitForStopSignal();

  const sql = await openMigratedDatabase(io.config, io.logger);
  try {
    const workers = await startWorkers(sql, plan.right, io.logger);
    const { concurrency, graceMs, retentionMs } = plan.right;
    const cron = plan.right.cron.map((schedule) => schedule.name);
    io.logger.info(
      { queues: workers.queues, cron, concurrency, graceMs, retentionMs },
      'worker process started',
    );
    const where = io.config.databaseUrl ? 'Postgres (DATABASE_URL)' : `${io.config.dataDir}/`;
    io.out(`rewind worker: running ${workers.queues.join(', ')} on ${where}`);

    const signal = await stopSignal;
    io.logger.info({ signal, graceMs }, 'worker process stopping');
    await workers.stop(graceMs);
  } finally {
    await sql.close();
  }
  io.logger.info('worker process stopped');
  io.out('rewind worker: stopped');
  return succeed;
}
