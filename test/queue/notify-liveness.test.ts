import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createPgSqlClient } from '../../src/adapters/postgres/pg-sql-client.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { sleep } from '../../src/queue/wakeup.js';
import { JobWorker } from '../../src/queue/worker/job-worker.js';
import { createDeferred } from '../support/deferred.js';
import { createQueueName } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase, testBackend } from '../support/sql.js';
import { TcpProxy } from '../support/tcp-proxy.js';

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

  describe.runIf(testBackend === 'postgres')('through a faulty network', () => {
    let proxy: TcpProxy;
    let sql: SqlClient;
    let worker: JobWorker;
    let queue: string;
    let states: { state: string; at: number }[];
    let logged: { msg: string; err?: { type?: string } }[];

    // Postgres as the worker sees it: through the proxy, with the listener's default settings and
    // the case's 30 s polling fallback, so that only a working listener starts a job in time.
    beforeEach(async () => {
      const url = new URL(process.env.DATABASE_URL ?? '');
      const schema = (await db.sql.query('SELECT current_schema() AS schema')).rows[0]?.schema;
      if (typeof schema !== 'string') throw new Error('no Postgres schema');
      proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
      url.host = `127.0.0.1:${proxy.port}`;
      states = [];
      logged = [];
      const lines = new Writable({
        write(chunk: Buffer, _encoding, done) {
          logged.push(JSON.parse(chunk.toString()));
          done();
        },
      });
      sql = createPgSqlClient({
        connectionString: url.toString(),
        schema,
        logger: pino({ level: 'info' }, lines),
        onListenerState: (state) => states.push({ state, at: Date.now() }),
      });
      queue = createQueueName();
      worker = new JobWorker({ sql, queue, pollMs: 30_000, handler: async () => undefined });
      await worker.start();
      // A first job through, so no claim is still opening a connection when the fault comes.
      const warmedUp = worker.events.once('queue:job:stop');
      await insertJobs(db.sql, [{ queue, kind: 'warm-up', args: {} }]);
      await warmedUp;
    });

    afterEach(async () => {
      await worker.stop();
      await sql.close();
      await proxy.close();
    });

    async function enqueueAt(at: number): Promise<number> {
      await sleep(at - Date.now());
      await insertJobs(db.sql, [{ queue, kind: 'after-fault', args: {} }]);
      return Date.now();
    }

    it('listens again after its link goes silent; a job enqueued meanwhile starts within 6 s (BC-05 b)', async () => {
      const started = worker.events.once('queue:job:start');
      const faultAt = Date.now();
      const silenced = proxy.silenceListening();
      // The link stays down for new connections too until the listener has tried one.
      const reconnectTried = proxy.stallNewConnections();
      const enqueued = enqueueAt(faultAt + 1000);
      await reconnectTried;
      proxy.forwardNewConnections();
      const enqueuedAt = await enqueued;
      await started;
      const startedAt = Date.now();

      expect(silenced).toBe(1);
      expect(states.map(({ state }) => state)).toEqual(['degraded', 'restored']);
      expect(logged).toContainEqual(
        expect.objectContaining({
          msg: 'notify degraded',
          err: expect.objectContaining({ type: 'ListenerTimeout' }),
        }),
      );
      expect((states[1]?.at ?? Number.POSITIVE_INFINITY) - faultAt).toBeLessThan(5000);
      expect(startedAt - enqueuedAt).toBeLessThan(6000);
    });

    it('listens again when a server that went away is back; a job enqueued meanwhile starts in 6 s (BC-05 c)', async () => {
      const started = worker.events.once('queue:job:start');
      const faultAt = Date.now();
      await proxy.refuse();
      const enqueuedAt = await enqueueAt(faultAt + 1000);
      await sleep(faultAt + 2500 - Date.now());
      await proxy.accept();
      const backAt = Date.now();
      await started;
      const startedAt = Date.now();

      expect(states.map(({ state }) => state)).toEqual(['degraded', 'restored']);
      expect(logged.map(({ msg }) => msg)).toContain('notify degraded');
      expect((states[1]?.at ?? Number.POSITIVE_INFINITY) - backAt).toBeLessThan(5000);
      expect(startedAt - enqueuedAt).toBeLessThan(6000);
    });
  });
});
