import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import type { SqlExecutor, SqlRow } from '../ports/sql.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_PRIORITY, Job, type NewJob } from './job.js';
import { decodeWrittenJobRow } from './job-row.js';
import { INSERT_JOBS } from './sql/insert-jobs.js';

/** A job that was not inserted because a job with its unique key already exists. */
export interface DuplicateJob {
  /** Its place in the `jobs` given to {@link insertJobs}. */
  readonly index: number;
  /** The job's `uniqueKey`, or its `uniqueActiveKey` when it has no `uniqueKey`. */
  readonly uniqueKey: string;
}

/** What {@link insertJobs} did with each job it was given. */
export interface InsertJobsResult {
  /** The jobs inserted, in input order. */
  readonly inserted: readonly Job[];
  /** The jobs skipped as duplicates, in input order. */
  readonly duplicates: readonly DuplicateJob[];
}

const InsertedRow = t.type({ inputIndex: t.number, id: t.unknown });

function checkNewJob(job: NewJob, index: number): void {
  const where = `jobs[${index}]`;
  if (job.queue === '' || job.kind === '') {
    throw new RangeError(`${where}: queue and kind must not be empty`);
  }
  const priority = job.priority ?? DEFAULT_PRIORITY;
  if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
    throw new RangeError(`${where}.priority: expected an integer from 0 to 9, got ${priority}`);
  }
  const maxAttempts = job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`${where}.maxAttempts: expected a positive integer, got ${maxAttempts}`);
  }
  if (job.scheduledAt && Number.isNaN(job.scheduledAt.getTime())) {
    throw new RangeError(`${where}.scheduledAt: invalid Date`);
  }
}

// JSON.stringify would quietly write NaN and Infinity as null.
function refuseNonFinite(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new RangeError(`args.${key}: ${value} cannot be stored as JSON`);
  }
  return value;
}

function toInputRow(job: NewJob, index: number) {
  return {
    index,
    queue: job.queue,
    kind: job.kind,
    args: job.args,
    priority: job.priority ?? DEFAULT_PRIORITY,
    max_attempts: job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    scheduled_at: job.scheduledAt?.toISOString() ?? null,
    unique_key: job.uniqueKey ?? null,
    unique_active_key: job.uniqueActiveKey ?? null,
    serial_key: job.serialKey ?? null,
  };
}

function collectOutcomes(jobs: readonly NewJob[], rows: readonly SqlRow[]): InsertJobsResult {
  const inserted: Job[] = [];
  const duplicates: DuplicateJob[] = [];
  for (const row of rows) {
    const outcome = InsertedRow.decode(row);
    if (E.isLeft(outcome)) throw new Error('insertJobs: a result row has no inputIndex');
    const { inputIndex, id } = outcome.right;
    const uniqueKey = jobs[inputIndex]?.uniqueKey ?? jobs[inputIndex]?.uniqueActiveKey;
    if (id !== null) inserted.push(decodeWrittenJobRow(Job, row));
    else if (uniqueKey !== undefined) duplicates.push({ index: inputIndex, uniqueKey });
    else throw new Error(`insertJobs: jobs[${inputIndex}] has no unique key yet was skipped`);
  }
  return { inserted, duplicates };
}

/**
 * Inserts jobs in one statement, on `executor`: pass an open transaction to make the jobs part of
 * the caller's work (the projection does), or the client to commit them at once.
 *
 * A job whose `uniqueKey` is already taken, by a committed job in any state or by another job of
 * the same batch, is skipped and reported as a duplicate; so is one whose `uniqueActiveKey` is
 * held by a job that may still run. The database decides, so this holds
 * across processes (BC-06). A job is `scheduled` when `scheduledAt` is later than the database's
 * now, else `available`. Listeners on {@link JOBS_CHANNEL} hear the queue of each available job
 * when the transaction commits.
 *
 * Throws a `RangeError` for a job that breaks the rules of {@link NewJob} (a programming error);
 * nothing is inserted then.
 *
 * @example
 * const { inserted, duplicates } = await insertJobs(sql, [
 *   { queue: 'sagas', kind: 'saga:run', args: { sagaId }, uniqueKey: `saga:${sagaId}` },
 * ]);
 */
export async function insertJobs(
  executor: SqlExecutor,
  jobs: readonly NewJob[],
): Promise<InsertJobsResult> {
  jobs.forEach(checkNewJob);
  if (jobs.length === 0) return { inserted: [], duplicates: [] };

  const input = JSON.stringify(jobs.map(toInputRow), refuseNonFinite);
  const result = await executor.query(INSERT_JOBS, [input]);
  return collectOutcomes(jobs, result.rows);
}
