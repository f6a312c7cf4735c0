import * as t from 'io-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SqlClient, SqlExecutor } from '../../src/ports/sql.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import type { JobId, LeasedJob } from '../../src/queue/job.js';
import { findStrandedJobs } from '../../src/queue/maintain-jobs.js';
import { cancelJobs, retryJobs } from '../../src/queue/operate-jobs.js';
import { CLAIM_JOBS } from '../../src/queue/sql/claim-jobs.js';
import { JOB_CANCEL_CHANNEL } from '../../src/queue/sql/operator-writes.js';
import {
  defineWorker,
  dispatchJobs,
  JOB_ARGS_DECODE_FAILURE,
  type JobHandler,
} from '../../src/queue/worker/define-worker.js';
import type { JobEventMap } from '../../src/queue/worker/job-events.js';
import { JobWorker, type JobWorkerOptions } from '../../src/queue/worker/job-worker.js';
import { createDeferred, whenAborted } from '../support/deferred.js';
import { createQueueName, readJob, readQueue } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

const fastBackoff = { initialDelayMs: 1, maxDelayMs: 5, jitter: 0 };

function createWorker(
  queue: string,
  handler: JobHandler,
  options: Partial<JobWorkerOptions> = {},
): JobWorker {
  return new JobWorker({
    sql: db.sql,
    queue,
    handler,
    pollMs: 50,
    backoff: fastBackoff,
    ...options,
  });
}

/** `executor`, noting the limit of every claim sent through it. */
function recordLimits<Executor extends SqlExecutor>(executor: Executor, limits: number[]) {
  return {
    query: (text: string, params?: readonly unknown[]) => {
      if (text === CLAIM_JOBS) limits.push(Number(params?.[1]));
      return executor.query(text, params);
    },
    exec: (script: string) => executor.exec(script),
  };
}

/** `sql`, noting the limit of every claim sent through it or its transactions. */
function recordClaimLimits(sql: SqlClient, limits: number[]): SqlClient {
  return {
    driver: sql.driver,
    ...recordLimits(sql, limits),
    transaction: (work) => sql.transaction((tx) => work(recordLimits(tx, limits))),
    listen: (channel, handler, options) => sql.listen(channel, handler, options),
    close: () => sql.close(),
  };
}

/** Runs `count` jobs that do nothing on a worker of default prefetch; the limit of each claim. */
async function drainNoOpJobs(
  count: number,
  options: Pick<JobWorkerOptions, 'concurrency' | 'globalLimit'>,
): Promise<number[]> {
  const queue = createQueueName();
  const limits: number[] = [];
  const sql = recordClaimLimits(db.sql, limits);
  const worker = new JobWorker({
    sql,
    queue,
    pollMs: 50,
    handler: async () => undefined,
    ...options,
  });
  const stopped = collectStops(worker, count);
  await insertJobs(
    db.sql,
    Array.from({ length: count }, () => ({ queue, kind: 'no-op', args: {} })),
  );

  await worker.start();
  await stopped;
  await worker.stop();
  return limits;
}

/** Collects the stop events of a worker until `count` have arrived. */
function collectStops(worker: JobWorker, count: number) {
  const stops: JobEventMap['queue:job:stop'][] = [];
  const all = createDeferred<JobEventMap['queue:job:stop'][]>();
  worker.events.on('queue:job:stop', (event) => {
    stops.push(event);
    if (stops.length === count) all.resolve(stops);
  });
  return all.promise;
}

describe('JobWorker', () => {
  it('runs jobs, reports start and stop, and completes them', async () => {
    const queue = createQueueName();
    const seen: string[] = [];
    const worker = createWorker(queue, async (job) => {
      seen.push(job.kind);
      return undefined;
    });
    const starts: LeasedJob[] = [];
    worker.events.on('queue:job:start', ({ job }) => starts.push(job));
    const stopped = collectStops(worker, 25);
    await insertJobs(
      db.sql,
      Array.from({ length: 25 }, (_, i) => ({ queue, kind: `k${i}`, args: { i } })),
    );

    await worker.start();
    const stops = await stopped;
    await worker.stop();

    expect(stops.every((stop) => stop.end === 'completed')).toBe(true);
    expect(starts).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    const jobs = await readQueue(db.sql, queue);
    expect(jobs.map((job) => job.state)).toEqual(Array(25).fill('completed'));
  });

  it('discards a job whose args do not decode, with the decode error, without retrying', async () => {
    const queue = createQueueName();
    const performed: number[] = [];
    const square = defineWorker({
      queue,
      kind: 'square',
      args: t.type({ n: t.number }),
      perform: async ({ n }) => {
        performed.push(n * n);
        return undefined;
      },
    });
    const worker = createWorker(queue, dispatchJobs([square]));
    const stopped = collectStops(worker, 2);
    await insertJobs(db.sql, [square.job({ n: 3 }), { queue, kind: 'square', args: { n: 'x' } }]);

    await worker.start();
    const stops = await stopped;
    await worker.stop();

    expect(stops.map((stop) => stop.end).sort()).toEqual(['completed', 'discarded']);
    expect(performed).toEqual([9]);
    const bad = (await readQueue(db.sql, queue)).find((job) => job.state === 'discarded');
    expect(bad?.attempt).toBe(1);
    expect(bad?.errors).toEqual([
      expect.objectContaining({ attempt: 1, name: JOB_ARGS_DECODE_FAILURE }),
    ]);
    expect(bad?.errors[0]?.message).toContain('n');
  });

  it('snoozes a job without using up an attempt', async () => {
    const queue = createQueueName();
    const worker = createWorker(queue, async () => ({ _tag: 'JobSnoozed', delayMs: 60_000 }));
    const stopped = collectStops(worker, 1);
    const { inserted } = await insertJobs(db.sql, [
      { queue, kind: 'wait', args: {}, maxAttempts: 1 },
    ]);

    await worker.start();
    const [stop] = await stopped;
    await worker.stop();

    expect(stop?.end).toBe('snoozed');
    const job = await readJob(db.sql, inserted[0]?.id ?? fail());
    expect(job).toMatchObject({ state: 'scheduled', attempt: 1, snoozes: 1, errors: [] });
    expect(job.scheduledAt.getTime()).toBeGreaterThan(Date.now() + 30_000);
  });

  it('cancels an executing job through its abort signal', async () => {
    const queue = createQueueName();
    const started = createDeferred<JobId>();
    const worker = createWorker(queue, async (job, { signal }) => {
      started.resolve(job.id);
      await whenAborted(signal);
      return undefined;
    });
    const stopped = collectStops(worker, 1);
    await insertJobs(db.sql, [{ queue, kind: 'long', args: {} }]);
    await worker.start();
    const id = await started.promise;

    await cancelJobs(db.sql, [id], { reason: 'no longer wanted' });
    const [stop] = await stopped;
    await worker.stop();

    expect(stop?.end).toBe('cancelled');
    const job = await readJob(db.sql, id);
    expect(job.state).toBe('cancelled');
    expect(job.errors.at(-1)).toMatchObject({ name: 'JobCancelled', message: 'no longer wanted' });
  });

  it('aborts the signal of a cancelled job that its handler reads only afterwards', async () => {
    const queue = createQueueName();
    const started = createDeferred<JobId>();
    const readSignal = createDeferred();
    let aborted: boolean | undefined;
    const worker = createWorker(queue, async (job, context) => {
      started.resolve(job.id);
      await readSignal.promise;
      aborted = context.signal.aborted;
      return undefined;
    });
    const stopped = collectStops(worker, 1);
    await insertJobs(db.sql, [{ queue, kind: 'long', args: {} }]);
    await worker.start();
    const id = await started.promise;
    // Heard after the worker's own listener, which was registered first on the same client.
    const delivered = createDeferred();
    const unlisten = await db.sql.listen(JOB_CANCEL_CHANNEL, (payload) => {
      if (payload === id.toString()) delivered.resolve();
    });

    await cancelJobs(db.sql, [id], { reason: 'no longer wanted' });
    await delivered.promise;
    await unlisten();
    readSignal.resolve();
    const [stop] = await stopped;
    await worker.stop();

    expect(aborted).toBe(true);
    expect(stop?.end).toBe('cancelled');
  });

  it('claims beyond its free slots by default once its jobs prove short', async () => {
    const limits = await drainNoOpJobs(300, { concurrency: 2 });

    expect(limits[0]).toBe(2);
    expect(Math.max(...limits)).toBeGreaterThan(2);
  });

  it('claims no more than its free slots by default under a global limit', async () => {
    const limits = await drainNoOpJobs(50, { concurrency: 2, globalLimit: 5 });

    expect(limits.length).toBeGreaterThan(0);
    expect(Math.max(...limits)).toBeLessThanOrEqual(2);
  });

  it('never runs more jobs of a queue at once than its global limit, across workers', async () => {
    const queue = createQueueName();
    let running = 0;
    let most = 0;
    const handler: JobHandler = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return undefined;
    };
    const options = { globalLimit: 3, concurrency: 5 };
    const first = createWorker(queue, handler, options);
    const second = createWorker(queue, handler, options);
    const allDone = createDeferred();
    let stops = 0;
    for (const worker of [first, second]) {
      worker.events.on('queue:job:stop', () => {
        if (++stops === 30) allDone.resolve();
      });
    }
    await insertJobs(
      db.sql,
      Array.from({ length: 30 }, () => ({ queue, kind: 'k', args: {} })),
    );

    await Promise.all([first.start(), second.start()]);
    await allDone.promise;
    await Promise.all([first.stop(), second.stop()]);

    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
  });

  it('drains gracefully: finishes, fails, and hands back what outlives the grace period (BC-25)', async () => {
    const queue = createQueueName();
    const release = { a: createDeferred(), b: createDeferred() };
    const started = { a: createDeferred(), b: createDeferred(), c: createDeferred() };
    let cAborted = false;
    const handler: JobHandler = async (job, { signal }) => {
      if (job.kind === 'a') {
        started.a.resolve();
        await release.a.promise;
        return undefined;
      }
      if (job.kind === 'b') {
        started.b.resolve();
        await release.b.promise;
        await insertJobs(db.sql, [{ queue: `${queue}-follow-up`, kind: 'after-b', args: {} }]);
        throw new Error('b fails');
      }
      started.c.resolve();
      await whenAborted(signal);
      cAborted = true;
      return undefined;
    };
    const worker = createWorker(queue, handler);
    await insertJobs(db.sql, [
      { queue, kind: 'a', args: {} },
      { queue, kind: 'b', args: {} },
      { queue, kind: 'c', args: {} },
    ]);
    await worker.start();
    await Promise.all([started.a.promise, started.b.promise, started.c.promise]);

    const stopping = worker.stop(1_000);
    await insertJobs(db.sql, [{ queue, kind: 'late', args: {} }]);
    release.a.resolve();
    release.b.resolve();
    await stopping;

    expect(cAborted).toBe(true);
    const byKind = new Map((await readQueue(db.sql, queue)).map((job) => [job.kind, job]));
    expect(byKind.get('a')?.state).toBe('completed');
    expect(byKind.get('b')).toMatchObject({ state: 'retryable', attempt: 1 });
    expect(byKind.get('b')?.errors[0]).toMatchObject({ name: 'Error', message: 'b fails' });
    expect(byKind.get('c')).toMatchObject({ state: 'available', attempt: 1, lostAttempts: 1 });
    expect(byKind.get('c')?.errors[0]?.name).toBe('JobInterrupted');
    expect(byKind.get('late')).toMatchObject({ state: 'available', attempt: 0 });
    expect(await readQueue(db.sql, `${queue}-follow-up`)).toHaveLength(1);
    expect([...byKind.values()].filter((job) => job.state === 'executing')).toEqual([]);
  });

  it('hands back prefetched jobs unstarted, with their attempt undone, when it stops', async () => {
    const queue = createQueueName();
    const started = createDeferred();
    const worker = createWorker(
      queue,
      async (_job, { signal }) => {
        started.resolve();
        await whenAborted(signal);
        return undefined;
      },
      { concurrency: 1, prefetch: 5 },
    );
    await insertJobs(
      db.sql,
      Array.from({ length: 6 }, (_, i) => ({ queue, kind: `k${i}`, args: {} })),
    );
    await worker.start();
    await started.promise;

    await worker.stop(50);

    const jobs = await readQueue(db.sql, queue);
    expect(jobs.map((job) => [job.state, job.attempt, job.lostAttempts])).toEqual([
      ['available', 1, 1],
      ...Array(5).fill(['available', 0, 0]),
    ]);
  });

  it('parks a job that always fails and runs the rest of its serial key (BC-23)', async () => {
    const queue = createQueueName();
    const ran: string[] = [];
    const handler: JobHandler = async (job) => {
      ran.push(job.kind);
      if (job.kind === 'j1') throw new Error('poison');
      return undefined;
    };
    const worker = createWorker(queue, handler);
    const stopped = collectStops(worker, 5);
    const serialKey = `saga:${queue}`;
    const { inserted } = await insertJobs(db.sql, [
      { queue, kind: 'j1', args: {}, serialKey, maxAttempts: 3 },
      { queue, kind: 'j2', args: {}, serialKey },
      { queue, kind: 'j3', args: {}, serialKey },
    ]);

    await worker.start();
    await stopped;
    const j1 = inserted[0]?.id ?? fail();
    expect((await readJob(db.sql, j1)).state).toBe('discarded');

    const replayed = collectStops(worker, 1);
    await retryJobs(db.sql, [j1]);
    await replayed;
    await worker.stop();

    expect(ran.filter((kind) => kind === 'j1')).toHaveLength(4);
    expect(ran.filter((kind) => kind !== 'j1')).toEqual(['j2', 'j3']);
    const jobs = await readQueue(db.sql, queue);
    expect(jobs.map((job) => [job.kind, job.state])).toEqual([
      ['j1', 'discarded'],
      ['j2', 'completed'],
      ['j3', 'completed'],
    ]);
    expect(jobs[0]?.errors.map((error) => error.attempt)).toEqual([1, 2, 3, 4]);
    expect(await findStrandedJobs(db.sql)).toEqual([]);
  });
});

function fail(): never {
  throw new Error('expected a value');
}
