/**
 * A worker process to kill: runs a JobWorker on one queue whose handler never finishes, and
 * prints `started <jobId> <attempt>` for each job it starts. Configured by environment:
 * DATABASE_URL, REWIND_SCHEMA, REWIND_QUEUE, REWIND_LEASE_MS, REWIND_CONCURRENCY.
 */
import { createPgSqlClient } from '../../src/adapters/postgres/pg-sql-client.js';
import { JobWorker } from '../../src/queue/worker/job-worker.js';
import { whenAborted } from './deferred.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`crash-worker: ${name} is not set`);
  return value;
};

const sql = createPgSqlClient({
  connectionString: env('DATABASE_URL'),
  schema: env('REWIND_SCHEMA'),
});
const worker = new JobWorker({
  sql,
  queue: env('REWIND_QUEUE'),
  concurrency: Number(env('REWIND_CONCURRENCY')),
  leaseMs: Number(env('REWIND_LEASE_MS')),
  pollMs: 100,
  handler: async (job, { signal }) => {
    process.stdout.write(`started ${job.id} ${job.attempt}\n`);
    await whenAborted(signal);
    return undefined;
  },
});
await worker.start();
