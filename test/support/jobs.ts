import { randomUUID } from 'node:crypto';

import * as E from 'fp-ts/lib/Either.js';

import type { SqlExecutor } from '../../src/ports/sql.js';
import { Job, type JobId } from '../../src/queue/job.js';
import { decodeWrittenJobRow } from '../../src/queue/job-row.js';
import { JOB_COLUMNS } from '../../src/queue/sql/job-columns.js';

/** A queue name of its own for one test, so tests sharing a database do not see each other. */
export function createQueueName(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

/** Reads a job back as it is stored now. */
export async function readJob(sql: SqlExecutor, id: JobId): Promise<Job> {
  const result = await sql.query(`SELECT ${JOB_COLUMNS} FROM rewind_jobs WHERE id = $1`, [id]);
  const row = result.rows[0];
  if (!row) throw new Error(`no job ${id}`);
  return decodeWrittenJobRow(Job, row);
}

/** Reads every job of a queue, by id. */
export async function readQueue(sql: SqlExecutor, queue: string): Promise<Job[]> {
  const result = await sql.query(
    `SELECT ${JOB_COLUMNS} FROM rewind_jobs WHERE queue = $1 ORDER BY id`,
    [queue],
  );
  return result.rows.map((row) => decodeWrittenJobRow(Job, row));
}

/** Lets a job's lease run out, as if its holder had stalled for longer than the lease. */
export async function expireLease(sql: SqlExecutor, id: JobId): Promise<void> {
  await sql.query(
    `UPDATE rewind_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
    [id],
  );
}

/** Makes a job's scheduled time pass, as if its retry time had come. */
export async function makeDue(sql: SqlExecutor, id: JobId): Promise<void> {
  await sql.query(
    `UPDATE rewind_jobs SET scheduled_at = now() - interval '1 second' WHERE id = $1`,
    [id],
  );
}

/** The right value of an Either, or a thrown error naming the left. */
export function expectRight<Left, Right>(either: E.Either<Left, Right>): Right {
  if (E.isLeft(either)) {
    const left = JSON.stringify(either.left, (_key, value) =>
      typeof value === 'bigint' ? `${value}n` : value,
    );
    throw new Error(`expected Right, got ${left}`);
  }
  return either.right;
}

/** The left value of an Either, or a thrown error. */
export function expectLeft<Left, Right>(either: E.Either<Left, Right>): Left {
  if (E.isRight(either)) throw new Error('expected Left, got Right');
  return either.left;
}
