import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSilentLogger } from '../../src/ports/logger.js';
import { completeJobs, extendLeases, unclaimJobs } from '../../src/queue/batch-writes.js';
import { claimJobs } from '../../src/queue/claim-jobs.js';
import { completeJob, failJob } from '../../src/queue/finish-job.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { JOB_LEASE_EXPIRED, type LeasedJob } from '../../src/queue/job.js';
import { extendLease } from '../../src/queue/lease.js';
import { CompletionBatcher } from '../../src/queue/worker/completion-batcher.js';
import { createQueueName, expectLeft, expectRight, expireLease, readJob } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

async function claimOne(queue: string, workerId: string): Promise<LeasedJob | undefined> {
  const { jobs } = await claimJobs(db.sql, { queue, workerId, limit: 1, leaseMs: 30_000 });
  return jobs[0];
}

async function claimHeld(queue: string, workerId = 'worker-a'): Promise<LeasedJob> {
  const job = await claimOne(queue, workerId);
  if (!job) throw new Error('nothing claimed');
  return job;
}

async function insertAndClaim(queue: string, maxAttempts?: number): Promise<LeasedJob> {
  await insertJobs(db.sql, [{ queue, kind: 'slow', args: {}, maxAttempts }]);
  const job = await claimOne(queue, 'worker-a');
  if (!job) throw new Error('nothing claimed');
  return job;
}

/** A job claimed by worker-a whose lease then ran out, and its rescue by `rescuer`. */
async function claimAndLose(queue: string, rescuer: string) {
  const stale = await insertAndClaim(queue);
  await expireLease(db.sql, stale.id);
  return { stale, rescued: await claimHeld(queue, rescuer) };
}

describe('leases', () => {
  it('rescues a job whose lease expired, with a new token (BC-03)', async () => {
    const queue = createQueueName();
    const first = await insertAndClaim(queue);
    expect(await claimOne(queue, 'worker-b')).toBeUndefined();

    await expireLease(db.sql, first.id);
    const rescued = await claimOne(queue, 'worker-b');

    expect(rescued).toMatchObject({ id: first.id, attempt: 2, lostAttempts: 1 });
    expect(rescued?.attemptedBy).toBe('worker-b');
    expect(rescued?.leaseToken).not.toBe(first.leaseToken);
    expect(rescued?.errors).toEqual([
      { attempt: 1, at: expect.any(Date), name: JOB_LEASE_EXPIRED, message: expect.any(String) },
    ]);
    expect(rescued?.errors[0]?.message).toContain('worker-a');
  });

  it("refuses the old holder's completion after a rescue and changes nothing (BC-03)", async () => {
    const { stale, rescued: current } = await claimAndLose(createQueueName(), 'worker-b');
    const before = await readJob(db.sql, stale.id);

    expect(expectLeft(await completeJob(db.sql, stale))).toEqual({
      _tag: 'LeaseLostFailure',
      jobId: stale.id,
    });
    const failure = { name: 'Error', message: 'late' };
    expect(expectLeft(await failJob(db.sql, stale, failure))._tag).toBe('LeaseLostFailure');
    expect(expectLeft(await extendLease(db.sql, stale, 60_000))._tag).toBe('LeaseLostFailure');
    expect(await readJob(db.sql, stale.id)).toEqual(before);

    expect(expectRight(await completeJob(db.sql, current)).state).toBe('completed');
  });

  it('refuses a second completion by the same holder', async () => {
    const queue = createQueueName();
    const job = await insertAndClaim(queue);
    expectRight(await completeJob(db.sql, job));
    expect(expectLeft(await completeJob(db.sql, job))._tag).toBe('LeaseLostFailure');
  });

  it('completes a batch of held jobs and reports the one whose lease another claim took', async () => {
    const queue = createQueueName();
    const kept = await insertAndClaim(queue);
    const taken = await insertAndClaim(queue);
    await expireLease(db.sql, taken.id);
    const rescued = await claimOne(queue, 'worker-b');

    const renewed = await extendLeases(db.sql, [kept, taken], 30_000);
    const completed = await completeJobs(db.sql, [kept, taken]);

    expect(rescued?.id).toBe(taken.id);
    expect(renewed).toEqual({ changed: [kept], lost: [taken] });
    expect(completed).toEqual({ changed: [kept], lost: [taken] });
    expect((await readJob(db.sql, kept.id)).state).toBe('completed');
    expect(await readJob(db.sql, taken.id)).toMatchObject({
      state: 'executing',
      attemptedBy: 'worker-b',
    });
  });

  it('completes a rescued job in a batch that also holds the run that lost it (BC-03)', async () => {
    const { stale, rescued } = await claimAndLose(createQueueName(), 'worker-a');

    const completed = await completeJobs(db.sql, [rescued, stale]);

    expect(completed.changed).toEqual([rescued]);
    expect(completed.lost).toEqual([stale]);
    expect(completed.lost[0]).toBe(stale);
    expect(await readJob(db.sql, stale.id)).toMatchObject({
      state: 'completed',
      attempt: 2,
      lostAttempts: 1,
    });
  });

  it('keeps a job from being rescued while its holder extends the lease', async () => {
    const queue = createQueueName();
    const job = await insertAndClaim(queue);
    await expireLease(db.sql, job.id);

    const extended = expectRight(await extendLease(db.sql, job, 60_000));
    expect(extended.leaseToken).toBe(job.leaseToken);
    expect(extended.leaseExpiresAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(await claimOne(queue, 'worker-b')).toBeUndefined();
    expect(expectRight(await completeJob(db.sql, job)).state).toBe('completed');
  });

  it('claims rescued and due jobs together in priority order, within the limit', async () => {
    const queue = createQueueName();
    const job = (priority: number) => ({ queue, kind: 'k', args: { priority }, priority });
    await insertJobs(db.sql, [job(1), job(3)]);
    const { jobs: held } = await claimJobs(db.sql, {
      queue,
      workerId: 'worker-a',
      limit: 2,
      leaseMs: 30_000,
    });
    for (const stale of held) await expireLease(db.sql, stale.id);
    await insertJobs(db.sql, [job(0), job(2)]);

    const claim = () => claimJobs(db.sql, { queue, workerId: 'b', limit: 3, leaseMs: 30_000 });
    const first = await claim();
    const second = await claim();

    expect(first.jobs.map((claimed) => claimed.priority)).toEqual([0, 1, 2]);
    expect(first.jobs.map((claimed) => claimed.lostAttempts)).toEqual([0, 1, 0]);
    expect(second.jobs.map((claimed) => [claimed.priority, claimed.lostAttempts])).toEqual([
      [3, 1],
    ]);
  });

  it('does not count an attempt lost to an expired lease against maxAttempts (BC-02)', async () => {
    const queue = createQueueName();
    const crashed = await insertAndClaim(queue, 1);
    await expireLease(db.sql, crashed.id);
    const rescued = await claimOne(queue, 'worker-b');
    if (!rescued) throw new Error('a crash retired the job');
    expect(rescued).toMatchObject({ attempt: 2, lostAttempts: 1, maxAttempts: 1 });

    const failure = { name: 'Error', message: 'handler failed' };
    const discarded = expectRight(await failJob(db.sql, rescued, failure));
    expect(discarded.state).toBe('discarded');
    expect(discarded.errors.map((error) => [error.attempt, error.name])).toEqual([
      [1, JOB_LEASE_EXPIRED],
      [2, 'Error'],
    ]);
  });
});

describe('two leases of one job in one batch', () => {
  it('tells the run that lost its lease that its completion was refused, though the run that rescued the job completes it in the same batch (BC-03)', async () => {
    const queue = createQueueName();
    await insertJobs(db.sql, [
      { queue, kind: 'first', args: {} },
      { queue, kind: 'slow', args: {} },
    ]);
    const first = await claimHeld(queue);
    const stale = await claimHeld(queue);
    await expireLease(db.sql, stale.id);
    const rescued = await claimHeld(queue);
    expect(rescued.id).toBe(stale.id);
    const batcher = new CompletionBatcher(db.sql, createSilentLogger());

    // The first completion is written at once; the next two arrive while it is in flight and
    // are written together in the second batch.
    const settled = await Promise.all([
      batcher.complete(first),
      batcher.complete(rescued),
      batcher.complete(stale),
    ]);

    expect(settled).toEqual([true, true, false]);
    expect(await readJob(db.sql, stale.id)).toMatchObject({ state: 'completed', attempt: 2 });
  });

  it('hands back a rescued job in a batch that also holds the lease it replaced (BC-03)', async () => {
    const { stale, rescued } = await claimAndLose(createQueueName(), 'worker-a');

    await unclaimJobs(db.sql, [rescued, stale]);

    expect(await readJob(db.sql, stale.id)).toMatchObject({ state: 'available', attempt: 1 });
  });
});
