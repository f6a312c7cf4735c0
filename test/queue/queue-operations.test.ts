import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SqlClient } from '../../src/ports/sql.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { JobPruner } from '../../src/queue/job-pruner.js';
import { findStrandedJobs, pruneJobs } from '../../src/queue/maintain-jobs.js';
import { assertEnqueued, drainQueue, listEnqueued } from '../../src/queue/testing.js';
import { uniqueJob } from '../../src/queue/unique-job.js';
import { createDeferred } from '../support/deferred.js';
import { createQueueName, readQueue } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase, testBackend } from '../support/sql.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

class Rollback extends Error {}

describe('retries', () => {
  it('makes min(k, m) + 1 attempts numbered 1..n with capped, growing backoff (BC-09)', async () => {
    for (let k = 0; k <= 6; k++) {
      for (let m = 0; m <= 5; m++) {
        const queue = createQueueName('bc09');
        await insertJobs(db.sql, [{ queue, kind: 'flaky', args: {}, maxAttempts: m + 1 }]);

        const { runs } = await drainQueue(db.sql, {
          queue,
          withScheduled: true,
          handler: async (job) => {
            if (job.attempt <= k) throw new Error(`transient ${job.attempt}`);
            return undefined;
          },
        });

        const where = `k=${k} m=${m}`;
        expect(
          runs.map((run) => run.job.attempt),
          where,
        ).toEqual(Array.from({ length: Math.min(k, m) + 1 }, (_, i) => i + 1));
        expect(runs.at(-1)?.end, where).toBe(k <= m ? 'completed' : 'discarded');
        const delays = runs
          .filter((run) => run.end === 'retryable')
          .map(
            (run) => run.after.scheduledAt.getTime() - (run.after.errors.at(-1)?.at.getTime() ?? 0),
          );
        delays.forEach((delay, i) => {
          // No base delay given: the documented default of 1 s, doubling, 20% jitter, cap 60 s.
          const base = Math.min(60_000, 1000 * 2 ** i);
          expect(delay, where).toBeGreaterThanOrEqual(base - 1);
          expect(delay, where).toBeLessThanOrEqual(Math.min(60_000, base * 1.2) + 1);
        });
      }
    }
    expect(await findStrandedJobs(db.sql)).toEqual([]);
  });
});

describe('unique jobs over active states', () => {
  it('keeps the job of the committed transaction when four others roll back (BC-06)', async () => {
    const queue = createQueueName('bc06');
    const job = { queue, kind: 'step', args: { sagaId: 's1', step: 'charge' } };
    const key = uniqueJob(job, { argsFields: ['sagaId', 'step'] });
    const clients: SqlClient[] =
      testBackend === 'postgres'
        ? await Promise.all(Array.from({ length: 5 }, () => db.connect()))
        : Array(5).fill(db.sql);
    const release = createDeferred();
    const pids: unknown[] = [];
    const told: string[] = [];

    const attempt = (sql: SqlClient, marker: string, rollback: boolean) =>
      sql.transaction(async (tx) => {
        pids.push((await tx.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
        const result = await insertJobs(tx, [{ ...job, ...key, args: { ...job.args, marker } }]);
        told.push(result.inserted.length === 1 ? 'inserted' : 'duplicate');
        if (!rollback) return;
        await release.promise;
        throw new Rollback();
      });

    if (testBackend === 'pglite') {
      // One connection: the transactions can only run one after another.
      release.resolve();
      for (const i of [0, 1, 2, 3]) {
        await expect(attempt(db.sql, `rolled-back-${i}`, true)).rejects.toBeInstanceOf(Rollback);
      }
      await attempt(db.sql, 'committed', false);
    } else {
      const rolledBack = [0, 1, 2, 3].map((i) =>
        attempt(clients[i] ?? db.sql, `rolled-back-${i}`, true).catch((error: unknown) => error),
      );
      const committed = attempt(clients[4] ?? db.sql, 'committed', false);
      // Four sessions (three of the holders and the committer) wait on the first holder. On a
      // loaded machine they may take a while to get there; whatever happens, the holders are
      // released at the end so that no transaction outlives the test.
      try {
        await expect
          .poll(
            async () => {
              const waiting = await db.sql.query(
                `SELECT count(*)::int AS n FROM pg_locks
               WHERE locktype = 'transactionid' AND NOT granted AND pid = ANY($1::int[])`,
                [pids],
              );
              return waiting.rows[0]?.n;
            },
            { timeout: 30_000, interval: 20 },
          )
          .toBe(4);
      } finally {
        release.resolve();
      }
      for (const outcome of await Promise.all(rolledBack)) expect(outcome).toBeInstanceOf(Rollback);
      await committed;
    }

    const stored = await readQueue(db.sql, queue);
    expect(stored.map((row) => row.args)).toEqual([{ ...job.args, marker: 'committed' }]);
    expect(told).toHaveLength(5);
  }, 60_000);

  it('refuses a second active job with the key and accepts one after the first ended', async () => {
    const queue = createQueueName();
    const job = { queue, kind: 'sync', args: { account: 7, page: 1 } };
    const key = uniqueJob(job, { argsFields: ['account'] });

    const first = await insertJobs(db.sql, [{ ...job, ...key }]);
    const again = await insertJobs(db.sql, [{ ...job, ...key, args: { account: 7, page: 2 } }]);
    await drainQueue(db.sql, { queue, handler: async () => undefined });
    const afterEnd = await insertJobs(db.sql, [{ ...job, ...key }]);

    expect(first.inserted).toHaveLength(1);
    expect(again.duplicates).toHaveLength(1);
    expect(afterEnd.inserted).toHaveLength(1);
  });

  it('tells jobs apart by period when one is given', () => {
    const job = { queue: 'q', kind: 'k', args: { a: 1, b: 2 } };
    const at = (iso: string) => uniqueJob(job, { periodMs: 3_600_000, now: new Date(iso) });

    expect(at('2026-01-01T10:05:00Z')).toEqual(at('2026-01-01T10:55:00Z'));
    expect(at('2026-01-01T10:55:00Z')).not.toEqual(at('2026-01-01T11:05:00Z'));
    expect(uniqueJob({ ...job, args: { b: 2, a: 1 } })).toEqual(uniqueJob(job));
  });
});

describe('pruning', () => {
  it('deletes ended jobs past retention but keeps unique-keyed tombstones', async () => {
    const queue = createQueueName();
    await insertJobs(db.sql, [
      { queue, kind: 'plain', args: {} },
      { queue, kind: 'keyed', args: {}, uniqueKey: `${queue}:event-1` },
      { queue, kind: 'waiting', args: {}, scheduledAt: new Date(Date.now() + 3_600_000) },
    ]);
    await drainQueue(db.sql, { queue, handler: async () => undefined });

    const pruned = await pruneJobs(db.sql, { retentionMs: 0 });
    const replay = await insertJobs(db.sql, [
      { queue, kind: 'keyed', args: {}, uniqueKey: `${queue}:event-1` },
    ]);

    expect(pruned).toBeGreaterThanOrEqual(1);
    expect((await readQueue(db.sql, queue)).map((job) => [job.kind, job.state])).toEqual([
      ['keyed', 'completed'],
      ['waiting', 'scheduled'],
    ]);
    expect(replay.duplicates).toHaveLength(1);
  });

  it('prunes in batches until none past retention is left, on its own interval', async () => {
    const queue = createQueueName();
    await insertJobs(
      db.sql,
      Array.from({ length: 5 }, (_, i) => ({ queue, kind: 'plain', args: { i } })),
    );
    await drainQueue(db.sql, { queue, handler: async () => undefined });
    const rounds: number[] = [];
    const firstRound = createDeferred<void>();
    const pruner = new JobPruner({
      sql: db.sql,
      retentionMs: 0,
      intervalMs: 10,
      limit: 2,
      onPruned: (pruned) => {
        rounds.push(pruned);
        firstRound.resolve();
      },
    });

    pruner.start();
    await firstRound.promise;
    await pruner.stop();

    expect(rounds[0]).toBeGreaterThanOrEqual(5);
    expect(await readQueue(db.sql, queue)).toEqual([]);
  });

  it('keeps ended jobs younger than the retention period', async () => {
    const queue = createQueueName();
    await insertJobs(db.sql, [{ queue, kind: 'plain', args: {} }]);
    await drainQueue(db.sql, { queue, handler: async () => undefined });

    await new JobPruner({ sql: db.sql, retentionMs: 3_600_000 }).prune();

    expect((await readQueue(db.sql, queue)).map((job) => job.state)).toEqual(['completed']);
  });

  it('refuses a negative retention or a zero interval', () => {
    expect(() => new JobPruner({ sql: db.sql, retentionMs: -1 })).toThrow(/retentionMs/);
    expect(() => new JobPruner({ sql: db.sql, intervalMs: 0 })).toThrow(/intervalMs/);
  });
});

describe('testing helpers', () => {
  it('finds enqueued jobs by kind and args, and says what is there when none matches', async () => {
    const queue = createQueueName();
    await insertJobs(db.sql, [{ queue, kind: 'mail', args: { to: 'a@example.com', n: 1 } }]);

    expect(
      await assertEnqueued(db.sql, { queue, kind: 'mail', args: { to: 'a@example.com' } }),
    ).toHaveLength(1);
    await expect(assertEnqueued(db.sql, { queue, args: { to: 'b@example.com' } })).rejects.toThrow(
      /a@example.com/,
    );
    expect(await listEnqueued(db.sql, { queue, kind: 'sms' })).toEqual([]);
  });
});
