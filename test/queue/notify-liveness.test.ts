import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPgSqlClient } from '../../src/adapters/postgres/pg-sql-client.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { JobWorker } from '../../src/queue/worker/job-worker.js';
import { createDeferred } from '../support/deferred.js';
import { createQueueName } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase, testBackend } from '../support/sql.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

describe('wake-ups', () => {
  it('starts a job that was inserted without a notification within the poll interval (BC-05)', async () => {
    const queue = createQueueName();
    const worker = new JobWorker({
      sql: db.sql,
      queue,
      pollMs: 100,
      handler: async () => undefined,
    });
    const started = worker.events.once('queue:job:start');
    await worker.start();

    // A raw insert announces nothing: only the polling fallback can find it.
    await db.sql.query(`INSERT INTO rewind_jobs (queue, kind) VALUES ($1, 'silent')`, [queue]);
    const { job } = await started;
    await worker.stop();

    expect(job.kind).toBe('silent');
  });

  // Needs a second session to terminate: Postgres only.
  it.runIf(testBackend === 'postgres')(
    're-establishes a terminated listener and wakes on notifications again (BC-05 a)',
    async () => {
      const schema = (await db.sql.query('SELECT current_schema() AS schema')).rows[0]?.schema;
      const url = process.env.DATABASE_URL;
      if (typeof schema !== 'string' || !url) throw new Error('no Postgres schema');
      const states: string[] = [];
      const restored = createDeferred();
      const sql = createPgSqlClient({
        connectionString: url,
        schema,
        listenerCheckMs: 200,
        onListenerState: (state) => {
          states.push(state);
          if (state === 'restored') restored.resolve();
        },
      });
      const queue = createQueueName();
      // A poll far longer than the test's timeout: only a notification can start the job.
      const worker = new JobWorker({ sql, queue, pollMs: 120_000, handler: async () => undefined });
      await worker.start();
      const marker = `bc05_${randomUUID().replaceAll('-', '')}`;
      const unlisten = await sql.listen(marker, () => {});

      const terminated = await db.sql.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE query = $1`,
        [`LISTEN "${marker}"`],
      );
      await restored.promise;
      const started = worker.events.once('queue:job:start');
      await insertJobs(db.sql, [{ queue, kind: 'after-restart', args: {} }]);
      const { job } = await started;
      await worker.stop();
      await unlisten();
      await sql.close();

      expect(terminated.rows).toEqual([{ done: true }]);
      expect(states).toEqual(['degraded', 'restored']);
      expect(job.kind).toBe('after-restart');
    },
  );
});
