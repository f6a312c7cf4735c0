import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import PgBoss from 'pg-boss';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { createPgSqlClient } from '../../src/adapters/postgres/pg-sql-client.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { JobWorker } from '../../src/queue/worker/job-worker.js';

/**
 * One queue system under test: a way to insert jobs, and a worker that calls `onJob` with each
 * job's args once it starts running it.
 */
export interface QueueUnderTest {
  readonly name: string;
  /** Inserts `count` no-op jobs in bulk. */
  insertBulk(count: number): Promise<void>;
  /** Inserts one job, awaiting its commit. */
  insertOne(args: { readonly i: number }): Promise<void>;
  /** Starts the workers at concurrency `concurrency`; `onJob` runs inside each job. */
  startWorkers(concurrency: number, onJob: (args: unknown) => void): Promise<void>;
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

const CHUNK = 2000;

/**
 * Rewind's JobWorker, in schema `schema`; `prefetch` jobs claimed beyond the free slots, or, when
 * undefined, the default that adapts to the jobs.
 */
export async function createRewind(
  url: string,
  schema: string,
  prefetch: number | undefined,
): Promise<QueueUnderTest> {
  const sql = createPgSqlClient({ connectionString: url, schema, maxConnections: 10 });
  await migrate(sql);
  const queue = 'bench';
  let worker: JobWorker | undefined;
  return {
    name: prefetch === undefined ? 'Rewind (default)' : `Rewind (prefetch ${prefetch})`,
    async insertBulk(count) {
      for (let done = 0; done < count; done += CHUNK) {
        const size = Math.min(CHUNK, count - done);
        await insertJobs(
          sql,
          Array.from({ length: size }, () => ({ queue, kind: 'noop', args: {} })),
        );
      }
    },
    async insertOne(args) {
      await insertJobs(sql, [{ queue, kind: 'noop', args }]);
    },
    async startWorkers(concurrency, onJob) {
      worker = new JobWorker({
        sql,
        queue,
        concurrency,
        ...(prefetch === undefined ? {} : { prefetch }),
        handler: async (job) => {
          onJob(job.args);
          return undefined;
        },
      });
      await worker.start();
    },
    async stopWorkers() {
      await worker?.stop();
    },
    close: () => sql.close(),
  };
}

/** graphile-worker, with its default settings or its batching ones. */
export async function createGraphile(
  url: string,
  schema: string,
  batched: boolean,
): Promise<QueueUnderTest> {
  const utils = await makeWorkerUtils({ connectionString: url, schema });
  await utils.migrate();
  let runner: Awaited<ReturnType<typeof run>> | undefined;
  // The settings graphile-worker's performance page recommends for throughput.
  const preset: Parameters<typeof run>[0]['preset'] = batched
    ? {
        worker: {
          localQueue: { size: 500 },
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
          maxPoolSize: 11,
          useNodeTime: true,
        },
      }
    : {};
  return {
    name: batched ? 'graphile-worker (batched)' : 'graphile-worker (default)',
    async insertBulk(count) {
      for (let done = 0; done < count; done += CHUNK) {
        const size = Math.min(CHUNK, count - done);
        await utils.addJobs(
          Array.from({ length: size }, () => ({ identifier: 'noop', payload: {} })),
        );
      }
    },
    async insertOne(args) {
      await utils.addJob('noop', args);
    },
    async startWorkers(concurrency, onJob) {
      runner = await run({
        connectionString: url,
        schema,
        concurrency,
        noHandleSignals: true,
        logger: silentGraphileLogger,
        preset,
        taskList: {
          noop: async (payload) => {
            onJob(payload);
          },
        },
      });
    },
    async stopWorkers() {
      await runner?.stop();
    },
    async close() {
      await utils.release();
    },
  };
}

const silentGraphileLogger = new Logger(() => () => {});

/**
 * pg-boss, with `concurrency` workers each fetching `batchSize` jobs at a time. pg-boss waits its
 * polling interval (0.5 s at the least) between fetches, so a batch of one caps each worker at two
 * jobs a second; the batched form hands each handler call up to `batchSize` jobs at once.
 */
export async function createPgBoss(
  url: string,
  schema: string,
  batchSize = 1,
): Promise<QueueUnderTest> {
  const boss = new PgBoss({
    connectionString: url,
    schema,
    max: 10,
    supervise: false,
    schedule: false,
  });
  boss.on('error', () => {});
  await boss.start();
  const queue = 'bench';
  await boss.createQueue(queue);
  return {
    name: batchSize === 1 ? 'pg-boss' : `pg-boss (batchSize ${batchSize})`,
    async insertBulk(count) {
      for (let done = 0; done < count; done += CHUNK) {
        const size = Math.min(CHUNK, count - done);
        await boss.insert(Array.from({ length: size }, () => ({ name: queue, data: {} })));
      }
    },
    async insertOne(args) {
      await boss.send(queue, args);
    },
    async startWorkers(concurrency, onJob) {
      for (let i = 0; i < concurrency; i++) {
        await boss.work(queue, { batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
          for (const job of jobs) onJob(job.data);
        });
      }
    },
    async stopWorkers() {
      await boss.offWork(queue);
    },
    close: () => boss.stop({ graceful: false, wait: true }),
  };
}
