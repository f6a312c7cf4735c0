import * as E from 'fp-ts/lib/Either.js';

import { type CronSchedule, parseCronSchedule } from '../queue/cron/cron-schedule.js';
import type { WorkerDefinition } from '../queue/worker/define-worker.js';
import { hasFields, importUserModule } from './user-module.js';

/** Whether a value is a plain job worker as {@link defineWorker} builds it. */
export function isWorkerDefinition(value: unknown): value is WorkerDefinition<never> {
  return hasFields(value, { queue: 'string', kind: 'string', job: 'function', run: 'function' });
}

/** Whether a value is a cron schedule: a name, an expression, a queue and a kind. */
export function isCronSchedule(value: unknown): value is CronSchedule {
  return hasFields(value, {
    name: 'string',
    expression: 'string',
    queue: 'string',
    kind: 'string',
  });
}

/** What a `--workers` module gives a worker process. */
export interface WorkersModule {
  /** Its plain job workers, by queue. */
  readonly workers: ReadonlyMap<string, readonly WorkerDefinition<never>[]>;
  /** Its cron schedules, each expression already read. */
  readonly cron: readonly CronSchedule[];
}

/**
 * The job workers and cron schedules the `--workers` module exports. Refused, naming the file:
 * two workers of one kind in one queue, a cron expression or time zone croner cannot read, two
 * schedules of one name.
 */
export async function loadWorkersModule(path: string): Promise<E.Either<string, WorkersModule>> {
  const imported = await importUserModule(
    {
      name: 'worker: --workers',
      what: 'job workers (defineWorker) or cron schedules',
      is: (value): value is WorkerDefinition<never> | CronSchedule =>
        isWorkerDefinition(value) || isCronSchedule(value),
    },
    path,
  );
  if (E.isLeft(imported)) return imported;
  const workers = groupByQueue(path, imported.right.filter(isWorkerDefinition));
  if (E.isLeft(workers)) return workers;
  const cron = checkCronSchedules(path, imported.right.filter(isCronSchedule));
  if (E.isLeft(cron)) return cron;
  return E.right({ workers: workers.right, cron: cron.right });
}

function groupByQueue(
  path: string,
  workers: readonly WorkerDefinition<never>[],
): E.Either<string, ReadonlyMap<string, readonly WorkerDefinition<never>[]>> {
  const byQueue = new Map<string, WorkerDefinition<never>[]>();
  for (const worker of workers) {
    const ofQueue = byQueue.get(worker.queue) ?? [];
    // One handler per queue dispatches on the kind: two workers of one kind cannot both run.
    if (ofQueue.some((other) => other.kind === worker.kind)) {
      return E.left(`worker: --workers ${path}: two workers run kind "${worker.kind}"`);
    }
    byQueue.set(worker.queue, [...ofQueue, worker]);
  }
  return E.right(byQueue);
}

function checkCronSchedules(
  path: string,
  schedules: readonly CronSchedule[],
): E.Either<string, readonly CronSchedule[]> {
  const names = new Set<string>();
  for (const schedule of schedules) {
    if (names.has(schedule.name)) {
      return E.left(`worker: --workers ${path}: two cron schedules are named "${schedule.name}"`);
    }
    names.add(schedule.name);
    const parsed = parseCronSchedule(schedule);
    if (E.isLeft(parsed)) {
      const { name, message } = parsed.left;
      return E.left(`worker: --workers ${path}: cron schedule "${name}": ${message}`);
    }
  }
  return E.right(schedules);
}
