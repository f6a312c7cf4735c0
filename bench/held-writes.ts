/**
 * The batched completion statement at the moment its plan is most at risk: 40,000 jobs inserted
 * and analysed while none executed, all of them then claimed, and completed 500 at a time on a
 * fresh connection, so the first executions are planned for their own parameters. Rewind's
 * statement (`COMPLETE_JOBS`, ids looked up by primary key, tokens from a JSON object) against
 * the plain join of the table with `unnest(ids, tokens)` that it replaced, on the same Postgres:
 * microseconds of completion per job, best of three rounds each, and their ratio.
 *
 * Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/held-writes.ts`
 */
import pg from 'pg';

import { migrate } from '../src/adapters/postgres/migrate.js';
import { createPgSqlClient } from '../src/adapters/postgres/pg-sql-client.js';
import { toHeldBatchParams } from '../src/queue/batch-writes.js';
import { claimJobs } from '../src/queue/claim-jobs.js';
import { insertJobs } from '../src/queue/insert-jobs.js';
import type { LeasedJob } from '../src/queue/job.js';
import { COMPLETE_JOBS } from '../src/queue/sql/batch-writes.js';

const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_held_writes';
const JOBS = 40_000;
const BATCH = 500;
const ROUNDS = 3;

/** The form `COMPLETE_JOBS` replaced: the planner joins ids and tokens with the table. */
const JOINED_COMPLETION = `
WITH changed AS (
  UPDATE rewind_jobs AS job SET state = 'completed', completed_at = now(), lease_expires_at = NULL
  FROM unnest($1::bigint[], $2::uuid[]) AS held(id, token)
  WHERE job.id = held.id AND job.state = 'executing' AND job.lease_token = held.token
  RETURNING job.id
)
SELECT held.id FROM unnest($1::bigint[]) AS held(id)
WHERE NOT EXISTS (SELECT FROM changed WHERE changed.id = held.id)`;

type Params = (jobs: readonly LeasedJob[]) => readonly string[];

const joinedParams: Params = (jobs) => [
  `{${jobs.map((job) => job.id).join(',')}}`,
  `{${jobs.map((job) => job.leaseToken).join(',')}}`,
];

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  await client.query(statement);
  await client.end();
}

/** Claims every job of a freshly analysed queue; returns them in batches of {@link BATCH}. */
async function prepareHeldJobs(): Promise<LeasedJob[][]> {
  await admin(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
  const sql = createPgSqlClient({ connectionString: URL, schema: SCHEMA });
  await migrate(sql);
  for (let done = 0; done < JOBS; done += 2000) {
    await insertJobs(
      sql,
      Array.from({ length: 2000 }, () => ({ queue: 'bench', kind: 'noop', args: {} })),
    );
  }
  await sql.exec('VACUUM ANALYZE rewind_jobs');
  const batches: LeasedJob[][] = [];
  for (;;) {
    const options = { queue: 'bench', workerId: 'bench', limit: BATCH, leaseMs: 600_000 };
    const { jobs } = await claimJobs(sql, options);
    if (jobs.length === 0) break;
    batches.push([...jobs]);
  }
  await sql.close();
  return batches;
}

/** Completes every batch on a new connection; microseconds per job. */
async function completeAll(statement: string, params: Params): Promise<number> {
  const batches = await prepareHeldJobs();
  const client = new pg.Client({ connectionString: URL, options: `-c search_path=${SCHEMA}` });
  await client.connect();
  const startedAt = performance.now();
  for (const batch of batches) {
    await client.query({ name: 'complete', text: statement, values: [...params(batch)] });
  }
  const elapsed = performance.now() - startedAt;
  await client.end();
  return (elapsed * 1000) / JOBS;
}

async function best(statement: string, params: Params): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    fastest = Math.min(fastest, await completeAll(statement, params));
  }
  return fastest;
}

const rewind = await best(COMPLETE_JOBS, toHeldBatchParams);
const joined = await best(JOINED_COMPLETION, joinedParams);
await admin(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);

console.log(`${JOBS} claimed jobs completed ${BATCH} at a time on a fresh connection`);
console.log(`COMPLETE_JOBS (primary key, JSON tokens)  ${rewind.toFixed(1)} µs/job`);
console.log(`join with unnest(ids, tokens)             ${joined.toFixed(1)} µs/job`);
console.log(`join / COMPLETE_JOBS                      ${(joined / rewind).toFixed(1)}x`);
