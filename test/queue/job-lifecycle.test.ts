import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { claimJobs } from '../../src/queue/claim-jobs.js';
import { completeJob, failJob } from '../../src/queue/finish-job.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import type { LeasedJob } from '../../src/queue/job.js';
import { createQueueName, expectRight, makeDue, readJob } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

const HOUR = 3_600_000;

async function claimAll(queue: string, limit = 10): Promise<readonly LeasedJob[]> {
  const claimed = await claimJobs(db.sql, { queue, workerId: 'worker-1', limit, leaseMs: 30_000 });
  expect(claimed.malformed).toEqual([]);
  return claimed.jobs;
}

describe('job lifecycle', () => {
  it('inserts, claims and completes a job', async () => {
    const queue = createQueueName();
    const { inserted } = await insertJobs(db.sql, [
      { queue, kind: 'email', args: { to: 'a@b.c' } },
    ]);
    expect(inserted).toHaveLength(1);
    expect(inserted[0]?.state).toBe('available');
    expect(typeof inserted[0]?.id).toBe('bigint');
    expect(inserted[0]).not.toHaveProperty('inputIndex');

    const [job] = await claimAll(queue);
    if (!job) throw new Error('nothing claimed');
    expect(job).toMatchObject({
      id: inserted[0]?.id,
      state: 'executing',
      attempt: 1,
      attemptedBy: 'worker-1',
      args: { to: 'a@b.c' },
    });
    expect(job.leaseExpiresAt.getTime()).toBeGreaterThan(job.attemptedAt.getTime());
    expect(await claimAll(queue)).toEqual([]);

    const completed = expectRight(await completeJob(db.sql, job));
    expect(completed.state).toBe('completed');
    expect(completed.completedAt).toBeInstanceOf(Date);
    expect(await claimAll(queue)).toEqual([]);
  });

  it('claims jobs in priority order, then by insertion', async () => {
    const queue = createQueueName();
    const priorities = [5, 0, 9, 0, 3];
    await insertJobs(
      db.sql,
      priorities.map((priority, i) => ({ queue, kind: 'k', args: { i }, priority })),
    );

    const first = await claimAll(queue, 2);
    const rest = await claimAll(queue, 10);
    expect(first.map((job) => job.args)).toEqual([{ i: 1 }, { i: 3 }]);
    expect(rest.map((job) => job.priority)).toEqual([3, 5, 9]);
  });

  it('claims a job scheduled in the past, not one scheduled in the future', async () => {
    const queue = createQueueName();
    const { inserted } = await insertJobs(db.sql, [
      { queue, kind: 'later', args: null, scheduledAt: new Date(Date.now() + HOUR) },
      { queue, kind: 'earlier', args: null, scheduledAt: new Date(Date.now() - HOUR) },
    ]);
    expect(inserted.map((job) => job.state)).toEqual(['scheduled', 'available']);

    const claimed = await claimAll(queue);
    expect(claimed.map((job) => job.kind)).toEqual(['earlier']);

    const later = inserted[0];
    if (!later) throw new Error('not inserted');
    await makeDue(db.sql, later.id);
    expect((await claimAll(queue)).map((job) => job.kind)).toEqual(['later']);
  });

  it('schedules a retry after a positive, capped backoff (BC-09)', async () => {
    const queue = createQueueName();
    await insertJobs(db.sql, [{ queue, kind: 'flaky', args: {} }]);
    const [job] = await claimAll(queue);
    if (!job) throw new Error('nothing claimed');

    const before = Date.now();
    const failure = { name: 'TimeoutError', message: 'upstream timed out' };
    const failed = expectRight(
      await failJob(db.sql, job, failure, {
        backoff: { initialDelayMs: 60_000, maxDelayMs: 90_000 },
      }),
    );
    expect(failed.state).toBe('retryable');
    expect(failed.scheduledAt.getTime()).toBeGreaterThan(before + 50_000);
    expect(failed.scheduledAt.getTime()).toBeLessThanOrEqual(Date.now() + 90_000 + 1000);
    expect(failed.errors).toEqual([
      { attempt: 1, at: expect.any(Date), name: 'TimeoutError', message: 'upstream timed out' },
    ]);
    expect(await claimAll(queue)).toEqual([]);

    await makeDue(db.sql, job.id);
    const [retried] = await claimAll(queue);
    expect(retried).toMatchObject({ id: job.id, attempt: 2, state: 'executing' });
    expect(retried?.leaseToken).not.toBe(job.leaseToken);
  });

  it('retries at the time the caller gives', async () => {
    const queue = createQueueName();
    await insertJobs(db.sql, [{ queue, kind: 'flaky', args: {} }]);
    const [job] = await claimAll(queue);
    if (!job) throw new Error('nothing claimed');

    const retryAt = new Date(Date.now() - 1000);
    const failure = { name: 'Error', message: 'once' };
    const failed = expectRight(await failJob(db.sql, job, failure, { retryAt }));
    expect(failed.scheduledAt.getTime()).toBe(retryAt.getTime());
    expect((await claimAll(queue)).map((claimed) => claimed.attempt)).toEqual([2]);
  });

  it('discards a job whose attempts are exhausted, keeping every error', async () => {
    const queue = createQueueName();
    await insertJobs(db.sql, [{ queue, kind: 'doomed', args: {}, maxAttempts: 2 }]);
    const failure = (n: number) => ({ name: 'Error', message: `failure ${n}` });

    const [first] = await claimAll(queue);
    if (!first) throw new Error('nothing claimed');
    expect(expectRight(await failJob(db.sql, first, failure(1))).state).toBe('retryable');
    await makeDue(db.sql, first.id);

    const [second] = await claimAll(queue);
    if (!second) throw new Error('nothing claimed');
    const discarded = expectRight(await failJob(db.sql, second, failure(2)));
    expect(discarded.state).toBe('discarded');
    expect(discarded.discardedAt).toBeInstanceOf(Date);
    expect(discarded.errors.map(({ attempt, message }) => ({ attempt, message }))).toEqual([
      { attempt: 1, message: 'failure 1' },
      { attempt: 2, message: 'failure 2' },
    ]);

    await makeDue(db.sql, first.id);
    expect(await claimAll(queue)).toEqual([]);
    expect((await readJob(db.sql, first.id)).state).toBe('discarded');
  });

  it('discards a job at once when the failure cannot be retried', async () => {
    const queue = createQueueName();
    await insertJobs(db.sql, [{ queue, kind: 'k', args: {} }]);
    const [job] = await claimAll(queue);
    if (!job) throw new Error('nothing claimed');

    const failure = { name: 'ValidationError', message: 'bad input' };
    const discarded = expectRight(await failJob(db.sql, job, failure, { discard: true }));
    expect(discarded).toMatchObject({ state: 'discarded', attempt: 1, maxAttempts: 20 });
  });

  it('reports a malformed row with its job id and field, and changes nothing else', async () => {
    const queue = createQueueName();
    const { inserted } = await insertJobs(db.sql, [
      { queue, kind: 'bad', args: {} },
      { queue, kind: 'good', args: {} },
    ]);
    const bad = inserted[0];
    if (!bad) throw new Error('not inserted');
    await db.sql.query(
      `UPDATE rewind_jobs SET errors = '[{"attempt": "one"}]'::jsonb WHERE id = $1`,
      [bad.id],
    );

    const claimed = await claimJobs(db.sql, { queue, workerId: 'w', limit: 10, leaseMs: 30_000 });
    expect(claimed.jobs.map((job) => job.kind)).toEqual(['good']);
    expect(claimed.malformed).toEqual([
      {
        _tag: 'JobDecodeFailure',
        jobId: bad.id.toString(),
        path: 'errors.0.attempt',
        message: 'expected number, got "one"',
      },
    ]);
  });

  it('refuses a job that breaks the rules, inserting nothing', async () => {
    const queue = createQueueName();
    const good = { queue, kind: 'k', args: {} };
    await expect(insertJobs(db.sql, [good, { ...good, priority: 10 }])).rejects.toThrow(
      /jobs\[1\]\.priority/,
    );
    await expect(insertJobs(db.sql, [{ ...good, args: { n: Number.NaN } }])).rejects.toThrow(
      /cannot be stored/,
    );
    expect(await claimAll(queue)).toEqual([]);
  });
});
