import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SqlClient } from '../../src/ports/sql.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { JOB_LEASE_EXPIRED, type JobId, type LeasedJob } from '../../src/queue/job.js';
import { findStrandedJobs } from '../../src/queue/maintain-jobs.js';
import type { JobRunEnd } from '../../src/queue/worker/job-events.js';
import { JobWorker } from '../../src/queue/worker/job-worker.js';
import { createDeferred, whenAborted } from '../support/deferred.js';
import { createQueueName, readJob, readQueue } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase, testBackend } from '../support/sql.js';

let db: TestDatabase;
let second: SqlClient;
let schema: string;

beforeAll(async () => {
  db = await createTestDatabase();
  second = testBackend === 'postgres' ? await db.connect() : db.sql;
  const row = (await db.sql.query('SELECT current_schema() AS schema')).rows[0];
  schema = typeof row?.schema === 'string' ? row.schema : 'public';
});

afterAll(async () => {
  await db.drop();
});

const LEASE_MS = 1000;

/** Starts a worker process on `queue` and resolves once it has started `starts` jobs. */
async function spawnWorker(queue: string, concurrency: number, starts: number) {
  // One process (node with tsx's loader), so SIGKILL takes down the worker itself, not a wrapper.
  const args = ['--import', 'tsx', 'test/support/crash-worker.ts'];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      ...process.env,
      REWIND_SCHEMA: schema,
      REWIND_QUEUE: queue,
      REWIND_LEASE_MS: String(LEASE_MS),
      REWIND_CONCURRENCY: String(concurrency),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started: string[] = [];
  const ready = createDeferred<string[]>();
  if (!child.stdout) throw new Error('no stdout');
  createInterface({ input: child.stdout }).on('line', (line) => {
    started.push(line);
    if (started.length === starts) ready.resolve(started);
  });
  child.once('exit', () => ready.reject(new Error(`worker exited after ${started.length} starts`)));
  const lines = await ready.promise;
  return { child, lines };
}

/** SIGKILLs the worker process and waits for it to exit. */
async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe.runIf(testBackend === 'postgres')(
  'crashed workers (Postgres: a real child process)',
  () => {
    it('rescues the jobs of a SIGKILLed worker and runs them all at once again (BC-01)', async () => {
      const queue = createQueueName('bc01');
      await insertJobs(
        db.sql,
        [0, 1, 2].map((i) => ({ queue, kind: 'step-2', args: { i } })),
      );
      const { child } = await spawnWorker(queue, 3, 3);
      await killHard(child);

      let running = 0;
      let most = 0;
      const allRunning = createDeferred();
      const fresh = new JobWorker({
        sql: db.sql,
        queue,
        concurrency: 3,
        leaseMs: LEASE_MS,
        pollMs: 100,
        handler: async () => {
          running++;
          most = Math.max(most, running);
          if (running === 3) allRunning.resolve();
          await allRunning.promise;
          running--;
          return undefined;
        },
      });
      const done = createDeferred();
      let stops = 0;
      fresh.events.on('queue:job:stop', () => {
        if (++stops === 3) done.resolve();
      });
      await fresh.start();
      await done.promise;
      await fresh.stop();

      expect(most).toBe(3);
      const jobs = await readQueue(db.sql, queue);
      for (const job of jobs) {
        expect(job).toMatchObject({ state: 'completed', attempt: 2, lostAttempts: 1 });
        expect(job.errors.map((error) => [error.attempt, error.name])).toEqual([
          [1, JOB_LEASE_EXPIRED],
        ]);
      }
      expect(await findStrandedJobs(db.sql)).toEqual([]);
    });

    it('keeps a job runnable after three crashes with max attempts 3 (BC-02)', async () => {
      const queue = createQueueName('bc02');
      const { inserted } = await insertJobs(db.sql, [
        { queue, kind: 'long-step', args: {}, maxAttempts: 3 },
      ]);
      const id: JobId = inserted[0]?.id ?? fail();

      const attempts: string[] = [];
      for (let round = 0; round < 3; round++) {
        const { child, lines } = await spawnWorker(queue, 1, 1);
        attempts.push(...lines);
        await killHard(child);
        expect(await findStrandedJobs(db.sql)).toEqual([]);
      }
      const fresh = new JobWorker({
        sql: db.sql,
        queue,
        leaseMs: LEASE_MS,
        pollMs: 100,
        handler: async () => undefined,
      });
      const stopped = fresh.events.once('queue:job:stop');
      await fresh.start();
      const { end } = await stopped;
      await fresh.stop();

      expect(attempts).toEqual([`started ${id} 1`, `started ${id} 2`, `started ${id} 3`]);
      expect(end).toBe('completed');
      expect(await readJob(db.sql, id)).toMatchObject({
        state: 'completed',
        attempt: 4,
        lostAttempts: 3,
        maxAttempts: 3,
      });
      expect(await findStrandedJobs(db.sql)).toEqual([]);
    });
  },
);

describe('leases of long jobs', () => {
  it('renews the lease of a job that outlives it, so nobody else runs it (BC-03 B)', async () => {
    const queue = createQueueName('bc03b');
    const effects = new Map<string, number>();
    const handler = async (job: { id: JobId }) => {
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 3));
      effects.set(job.id.toString(), (effects.get(job.id.toString()) ?? 0) + 1);
      return undefined;
    };
    const options = { queue, leaseMs: LEASE_MS, heartbeatMs: LEASE_MS / 5, pollMs: 50, handler };
    const first = new JobWorker({ ...options, sql: db.sql });
    const other = new JobWorker({ ...options, sql: second });
    const otherStarts: unknown[] = [];
    other.events.on('queue:job:start', (event) => otherStarts.push(event));
    const stopped = first.events.once('queue:job:stop');
    const firstStarted = first.events.once('queue:job:start');
    await first.start();
    const { inserted } = await insertJobs(db.sql, [{ queue, kind: 'nightly', args: {} }]);
    await firstStarted;
    await other.start();

    const { end } = await stopped;
    await Promise.all([first.stop(), other.stop()]);

    expect(end).toBe('completed');
    expect(otherStarts).toEqual([]);
    expect([...effects.values()]).toEqual([1]);
    expect(await readJob(db.sql, inserted[0]?.id ?? fail())).toMatchObject({ attempt: 1 });
  });

  it('aborts a handler whose lease ran out and refuses its late completion (BC-03 A)', async () => {
    const queue = createQueueName('bc03a');
    const applied = new Set<string>();
    const order: string[] = [];
    const ends: JobRunEnd[] = [];
    const completed = createDeferred();
    // No heartbeat within the job's life: the lease simply runs out. Either worker may rescue.
    const options = {
      queue,
      leaseMs: LEASE_MS,
      heartbeatMs: 600_000,
      pollMs: 50,
      handler: async (job: LeasedJob, { signal }: { signal: AbortSignal }) => {
        order.push(`${job.attempt} started`);
        if (job.attempt === 1) {
          await whenAborted(signal);
          order.push(`${job.attempt} aborted`);
        }
        // The effect is keyed by the job, so a late duplicate changes nothing.
        applied.add(job.id.toString());
        return undefined;
      },
    };
    const workers = [
      new JobWorker({ ...options, sql: db.sql }),
      new JobWorker({ ...options, sql: second }),
    ];
    for (const worker of workers) {
      worker.events.on('queue:job:stop', ({ end }) => {
        ends.push(end);
        if (end === 'completed') completed.resolve();
      });
    }
    const firstStarted = workers[0]?.events.once('queue:job:start');
    await workers[0]?.start();
    await insertJobs(db.sql, [{ queue, kind: 'nightly', args: {} }]);
    await firstStarted;
    await workers[1]?.start();

    await completed.promise;
    await Promise.all(workers.map((worker) => worker.stop()));

    expect(ends).toEqual(['lost', 'completed']);
    expect(order).toEqual(['1 started', '1 aborted', '2 started']);
    expect(applied.size).toBe(1);
    const [job] = await readQueue(db.sql, queue);
    expect(job).toMatchObject({ state: 'completed', attempt: 2, lostAttempts: 1 });
  });
});

function fail(): never {
  throw new Error('expected a value');
}
