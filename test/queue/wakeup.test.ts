import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { insertJobs } from '../../src/queue/insert-jobs.js';
import { JOBS_CHANNEL } from '../../src/queue/sql/insert-jobs.js';
import { NotificationWakeup, type WakeReason, waitForJobs } from '../../src/queue/wakeup.js';
import { createQueueName } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

async function listenFor(queue: string): Promise<NotificationWakeup> {
  return NotificationWakeup.listen(db.sql, JOBS_CHANNEL, (payload) => payload === queue);
}

describe('wake-ups', () => {
  it('wakes a waiter when a job of its queue is inserted, even before it waits', async () => {
    const queue = createQueueName();
    const wakeup = await listenFor(queue);
    try {
      await insertJobs(db.sql, [{ queue, kind: 'k', args: {} }]);
      await expect.poll(() => wakeup.wait({ timeoutMs: 1 })).toBe('notified');
      expect(await wakeup.wait({ timeoutMs: 10 })).toBe('timeout');
    } finally {
      await wakeup.close();
    }
  });

  it('does not wake for another queue, nor for a job scheduled later', async () => {
    const queue = createQueueName();
    const wakeup = await listenFor(queue);
    try {
      await insertJobs(db.sql, [
        { queue: createQueueName(), kind: 'k', args: {} },
        { queue, kind: 'k', args: {}, scheduledAt: new Date(Date.now() + 3_600_000) },
      ]);
      expect(await wakeup.wait({ timeoutMs: 300 })).toBe('timeout');
    } finally {
      await wakeup.close();
    }
  });

  it('resolves waitForJobs on insert, on abort, and after pollMs', async () => {
    const queue = createQueueName();
    let reason: WakeReason | undefined;
    const waiting = waitForJobs(db.sql, queue, { pollMs: 20_000 }).then((r) => {
      reason = r;
    });
    // The wait listens from some moment after the call; insert until it has heard one.
    await expect
      .poll(async () => {
        await insertJobs(db.sql, [{ queue, kind: 'k', args: {} }]);
        return reason;
      })
      .toBe('notified');
    await waiting;

    const controller = new AbortController();
    const aborted = waitForJobs(db.sql, queue, { pollMs: 20_000, signal: controller.signal });
    controller.abort();
    expect(await aborted).toBe('aborted');

    expect(await waitForJobs(db.sql, queue, { pollMs: 10 })).toBe('timeout');
  });
});
