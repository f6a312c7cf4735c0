import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SqlClient } from '../../src/ports/sql.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { createQueueName, readQueue } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase, testBackend } from '../support/sql.js';

let db: TestDatabase;
let second: SqlClient;

beforeAll(async () => {
  db = await createTestDatabase();
  second = testBackend === 'postgres' ? await db.connect() : db.sql;
});

afterAll(async () => {
  await db.drop();
});

class Rollback extends Error {}

/** Resolves once some session waits for transaction `xid` to end (a blocked unique insert). */
async function waitForWaiterOn(xid: string): Promise<void> {
  await expect
    .poll(
      async () => {
        const result = await db.sql.query(
          `SELECT count(*)::int AS waiting FROM pg_locks
           WHERE locktype = 'transactionid' AND transactionid::text = $1 AND NOT granted`,
          [xid],
        );
        return result.rows[0]?.waiting;
      },
      { timeout: 10_000, interval: 20 },
    )
    .toBeGreaterThan(0);
}

describe('unique jobs', () => {
  it('inserts exactly one job for 100 parallel inserts of one key (BC-06)', async () => {
    const queue = createQueueName();
    const uniqueKey = `${queue}:once`;
    const clients = [db.sql, second];

    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        insertJobs(clients[i % 2] ?? db.sql, [{ queue, kind: 'k', args: { i }, uniqueKey }]),
      ),
    );

    expect(results.flatMap((result) => result.inserted)).toHaveLength(1);
    expect(results.flatMap((result) => result.duplicates)).toHaveLength(99);
    const stored = await readQueue(db.sql, queue);
    expect(stored.map((job) => job.uniqueKey)).toEqual([uniqueKey]);
  });

  it('reports duplicates within one batch by their place in it', async () => {
    const queue = createQueueName();
    const job = (uniqueKey?: string) => ({ queue, kind: 'k', args: {}, uniqueKey });

    const result = await insertJobs(db.sql, [job('a'), job(), job('a'), job('b'), job()]);

    expect(result.inserted.map((inserted) => inserted.uniqueKey)).toEqual(['a', null, 'b', null]);
    expect(result.duplicates).toEqual([{ index: 2, uniqueKey: 'a' }]);
    expect(await insertJobs(db.sql, [job('b')])).toMatchObject({
      inserted: [],
      duplicates: [{ index: 0, uniqueKey: 'b' }],
    });
  });

  it('inserts a key whose earlier insert was rolled back (BC-06)', async () => {
    const queue = createQueueName();
    const uniqueKey = `${queue}:after-rollback`;
    const job = { queue, kind: 'k', uniqueKey };
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let heldInserted = false;
    let heldXid: unknown;

    const rolledBack = second.transaction(async (tx) => {
      heldInserted =
        (await insertJobs(tx, [{ ...job, args: 'rolled back' }])).inserted.length === 1;
      heldXid = (await tx.query('SELECT pg_current_xact_id()::xid::text AS xid')).rows[0]?.xid;
      await held;
      throw new Rollback();
    });

    if (testBackend === 'pglite') {
      // One connection: the other insert can only come after the rollback.
      release();
      await expect(rolledBack).rejects.toBeInstanceOf(Rollback);
      const later = await insertJobs(db.sql, [{ ...job, args: 'committed' }]);
      expect(later.inserted).toHaveLength(1);
    } else {
      await expect.poll(() => heldXid).toBeTypeOf('string');
      const later = insertJobs(db.sql, [{ ...job, args: 'committed' }]);
      await waitForWaiterOn(String(heldXid));
      release();
      await expect(rolledBack).rejects.toBeInstanceOf(Rollback);
      expect((await later).inserted).toHaveLength(1);
    }

    expect(heldInserted).toBe(true);
    const stored = await readQueue(db.sql, queue);
    expect(stored.map((stored) => stored.args)).toEqual(['committed']);
  });
});
