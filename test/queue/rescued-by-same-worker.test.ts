import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { insertJobs } from '../../src/queue/insert-jobs.js';
import type { JobEventMap } from '../../src/queue/worker/job-events.js';
import { JobWorker } from '../../src/queue/worker/job-worker.js';
import { createDeferred, whenAborted } from '../support/deferred.js';
import { createQueueName } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

describe('JobWorker', () => {
  it('still aborts the run it rescued from itself once the lost run of the same job returns (BC-03)', async () => {
    const queue = createQueueName();
    const firstRelease = createDeferred();
    const secondStarted = createDeferred<AbortSignal>();
    const worker = new JobWorker({
      sql: db.sql,
      queue,
      concurrency: 2,
      prefetch: 0,
      leaseMs: 600,
      // No renewal: every lease runs out, as when heartbeats cannot reach the database.
      heartbeatMs: 3_600_000,
      pollMs: 50,
      handler: async (job, { signal }) => {
        // The first run ignores its abort signal and outlives its lease.
        if (job.attempt === 1) await firstRelease.promise;
        else {
          secondStarted.resolve(signal);
          await whenAborted(signal);
        }
        return undefined;
      },
    });
    const stops: JobEventMap['queue:job:stop'][] = [];
    const bothStopped = createDeferred();
    worker.events.on('queue:job:stop', (event) => {
      stops.push(event);
      if (stops.length === 2) bothStopped.resolve();
    });
    await insertJobs(db.sql, [{ queue, kind: 'stubborn', args: {} }]);
    await worker.start();

    const secondSignal = await secondStarted.promise;
    firstRelease.resolve();

    // The second run's lease runs out too: its handler must be told before another worker can
    // rescue the job and run it alongside.
    await whenAborted(secondSignal);
    await bothStopped.promise;
    await worker.stop();

    expect(stops.map((stop) => [stop.job.attempt, stop.end])).toEqual([
      [1, 'lost'],
      [2, 'lost'],
    ]);
  }, 10_000);
});
