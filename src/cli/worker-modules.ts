import * as E from 'fp-ts/lib/Either.js';

import type { WorkerDefinition } from '../queue/worker/define-worker.js';
import { importUserModule } from './user-module.js';

/** Whether a value is a plain job worker as {@link defineWorker} builds it. */
export function isWorkerDefinition(value: unknown): value is WorkerDefinition<never> {
  return (
    typeof value === 'object' &&
    value !== null &&
    'queue' in value &&
    typeof value.queue === 'string' &&
    'kind' in value &&
    typeof value.kind === 'string' &&
    'job' in value &&
    typeof value.job === 'function' &&
    'run' in value &&
    typeof value.run === 'function'
  );
}

/** The plain job workers of the `--workers` module, by queue. */
export async function loadWorkersModule(
  path: string,
): Promise<E.Either<string, ReadonlyMap<string, readonly WorkerDefinition<never>[]>>> {
  const imported = await importUserModule(
    {
      name: 'worker: --workers',
      what: 'job workers (defineWorker)',
      is: isWorkerDefinition,
    },
    path,
  );
  if (E.isLeft(imported)) return imported;
  const byQueue = new Map<string, WorkerDefinition<never>[]>();
  for (const worker of imported.right) {
    const ofQueue = byQueue.get(worker.queue) ?? [];
    // One handler per queue dispatches on the kind: two workers of one kind cannot both run.
    if (ofQueue.some((other) => other.kind === worker.kind)) {
      return E.left(`worker: --workers ${path}: two workers run kind "${worker.kind}"`);
    }
    byQueue.set(worker.queue, [...ofQueue, worker]);
  }
  return E.right(byQueue);
}
