import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SqlClient } from '../../src/ports/sql.js';
import { claimJobs } from '../../src/queue/claim-jobs.js';
import { completeJob } from '../../src/queue/finish-job.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { createQueueName, expectRight } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase, testBackend } from '../support/sql.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

// On Postgres each claimer is a client of its own, as a worker process would be; PGlite has one
// connection, so there the claimers are concurrent calls on it.
async function openClaimerClients(count: number): Promise<SqlClient[]> {
  if (testBackend === 'pglite') return Array.from({ length: count }, () => db.sql);
  return Promise.all(Array.from({ length: count }, () => db.connect()));
}

async function drainQueue(sql: SqlClient, queue: string, workerId: string): Promise<bigint[]> {
  const taken: bigint[] = [];
  for (;;) {
    const { jobs } = await claimJobs(sql, { queue, workerId, limit: 7, leaseMs: 30_000 });
    if (jobs.length === 0) return taken;
    for (const job of jobs) {
      taken.push(job.id);
      expectRight(await completeJob(sql, job));
    }
  }
}

describe('concurrent claims', () => {
  it('gives each of 200 jobs to exactly one of 4 concurrent claimers', async () => {
    const queue = createQueueName();
    const jobs = Array.from({ length: 200 }, (_, i) => ({ queue, kind: 'k', args: { i } }));
    const { inserted } = await insertJobs(db.sql, jobs);
    const clients = await openClaimerClients(4);

    const taken = await Promise.all(clients.map((sql, i) => drainQueue(sql, queue, `worker-${i}`)));

    const all = taken.flat();
    expect(all).toHaveLength(200);
    expect(new Set(all).size).toBe(200);
    expect(new Set(all)).toEqual(new Set(inserted.map((job) => job.id)));
    if (testBackend === 'postgres') {
      expect(taken.filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
    }
  });
});
