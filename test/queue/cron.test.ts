import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SqlClient } from '../../src/ports/sql.js';
import {
  type CronSchedule,
  cronJob,
  cronJobKey,
  listFireTimes,
  parseCronSchedule,
  registerCronSchedules,
} from '../../src/queue/cron/cron-schedule.js';
import { CronScheduler } from '../../src/queue/cron/cron-scheduler.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { createQueueName, readQueue } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase, testBackend } from '../support/sql.js';

let db: TestDatabase;
/** One client per scheduler process on Postgres; PGlite has a single connection to share. */
let clients: SqlClient[];

beforeAll(async () => {
  db = await createTestDatabase();
  clients =
    testBackend === 'postgres'
      ? [db.sql, await db.connect(), await db.connect()]
      : [db.sql, db.sql, db.sql];
});

afterAll(async () => {
  await db.drop();
});

function parse(expression: string, timezone: string) {
  const cron = parseCronSchedule({ name: 'test', expression, timezone });
  if (E.isLeft(cron)) throw new Error(cron.left.message);
  return cron.right;
}

const MINUTE = 60_000;

describe('cron', () => {
  it('fires a daily local time once per day across both DST changes of Europe/Berlin', () => {
    const cron = parse('30 2 * * *', 'Europe/Berlin');
    const spring = listFireTimes(
      cron,
      new Date('2026-03-27T12:00:00Z'),
      new Date('2026-03-31T12:00:00Z'),
      100,
    );
    const autumn = listFireTimes(
      cron,
      new Date('2026-10-23T12:00:00Z'),
      new Date('2026-10-27T12:00:00Z'),
      100,
    );

    expect(spring).toHaveLength(4);
    expect(autumn).toHaveLength(4);
    // 02:30 CEST is 00:30 UTC, 02:30 CET is 01:30 UTC. The skipped 02:30 of 29 March fires once,
    // and the repeated 02:30 of 25 October fires once, at its first occurrence.
    expect(autumn.map((time) => time.toISOString())).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
      '2026-10-27T01:30:00.000Z',
    ]);
  });

  it('refuses an invalid expression at registration and registers nothing', async () => {
    const registered = await registerCronSchedules(db.sql, [
      { name: `bad-${createQueueName()}`, expression: 'every full moon', queue: 'q', kind: 'k' },
    ]);

    expect(E.isLeft(registered) && registered.left._tag).toBe('InvalidCronScheduleFailure');
  });

  it('inserts exactly one job per schedule and fire time across churning schedulers, and backfills an outage once (BC-07)', async () => {
    const queue = createQueueName('cron');
    const schedule: CronSchedule = {
      name: `every-minute-${queue}`,
      expression: '* * * * *',
      queue,
      kind: 'tick',
    };
    // Three processes with the same node name, each registering the schedule at boot.
    const boot = async () => {
      const schedulers = clients.map(
        (sql) =>
          new CronScheduler({ sql, nodeName: 'same-host', schedules: [schedule], maxBackfill: 10 }),
      );
      await Promise.all(clients.map((sql) => registerCronSchedules(sql, [schedule])));
      return schedulers;
    };
    let schedulers = await boot();
    const registered = await db.sql.query(
      'SELECT registered_at AS at FROM rewind_cron_schedules WHERE name = $1',
      [schedule.name],
    );
    const registeredAt = registered.rows[0]?.at;
    if (!(registeredAt instanceof Date)) throw new Error('schedule not registered');
    const start = Math.ceil((registeredAt.getTime() + 1) / MINUTE) * MINUTE;
    const leaderIds = new Set(schedulers.map((scheduler) => scheduler.leaderId));
    expect(leaderIds.size).toBe(3);

    // Five ticks; the processes restart every 20 s and tick around each fire time at once.
    for (let tick = 0; tick < 5; tick++) {
      for (const offset of [0, 20_000, 40_000]) {
        const now = new Date(start + tick * MINUTE + offset + 5);
        await Promise.all(schedulers.map((scheduler) => scheduler.tick(now)));
        schedulers = await boot();
      }
    }
    // A 3-minute outage, then one tick.
    const afterOutage = new Date(start + 8 * MINUTE + 5);
    await Promise.all(schedulers.map((scheduler) => scheduler.tick(afterOutage)));
    await Promise.all(schedulers.map((scheduler) => scheduler.tick(afterOutage)));

    const jobs = await readQueue(db.sql, queue);
    const keys = jobs.map((job) => job.uniqueKey);
    const expected = Array.from({ length: 9 }, (_, i) =>
      cronJobKey(schedule.name, new Date(start + i * MINUTE)),
    );
    expect(keys.sort()).toEqual(expected.sort());
    expect(jobs.every((job) => job.scheduledAt.getTime() % MINUTE === 0)).toBe(true);
  });

  it('lets the unique key alone refuse a second job for one tick, without the leader lock (BC-07)', async () => {
    const queue = createQueueName('cron');
    const schedule: CronSchedule = {
      name: `race-${queue}`,
      expression: '* * * * *',
      queue,
      kind: 'tick',
    };
    const fireAt = new Date(Math.floor(Date.now() / MINUTE) * MINUTE);

    const results = await Promise.all(
      clients.map((sql) => insertJobs(sql, [cronJob(schedule, fireAt)])),
    );

    expect(results.map((result) => result.inserted.length).sort()).toEqual([0, 0, 1]);
    expect(await readQueue(db.sql, queue)).toHaveLength(1);
  });
});
