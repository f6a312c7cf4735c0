import type { SqlExecutor } from '../ports/sql.js';
import { Job, type JobId } from './job.js';
import { decodeWrittenJobRow } from './job-row.js';
import { END_JOBS, NOTIFY_CANCELS, RETRY_JOBS } from './sql/operator-writes.js';

/** The `name` of the `errors` entry of a job that an operator or its handler cancelled. */
export const JOB_CANCELLED = 'JobCancelled';
/** The `name` of the `errors` entry of a job that an operator discarded. */
export const JOB_DISCARDED = 'JobDiscarded';

/** Options of {@link cancelJobs} and {@link discardJobs}. */
export interface EndJobsOptions {
  /** Kept as the message of the job's `errors` entry. Default: `cancelled by an operator`. */
  readonly reason?: string;
}

async function endJobs(
  executor: SqlExecutor,
  ids: readonly JobId[],
  state: 'cancelled' | 'discarded',
  name: string,
  reason: string,
): Promise<readonly Job[]> {
  if (ids.length === 0) return [];
  const params = [ids.map(String), state, name, reason];
  const result = await executor.query(END_JOBS, params);
  const ended = result.rows.map((row) => decodeWrittenJobRow(Job, row));
  if (ended.length > 0) {
    await executor.query(NOTIFY_CANCELS, [ended.map((job) => job.id.toString())]);
  }
  return ended;
}

/**
 * Cancels jobs that may still run (available, scheduled, retryable, executing) and returns those
 * it cancelled; jobs that already ended are left alone. An executing job is cancelled at once in
 * the table: its worker's writes are refused from then on, and the worker aborts the handler's
 * `AbortSignal` when the announcement on `rewind_job_cancel` (or its next heartbeat) tells it.
 */
export function cancelJobs(
  executor: SqlExecutor,
  ids: readonly JobId[],
  options: EndJobsOptions = {},
): Promise<readonly Job[]> {
  const reason = options.reason ?? 'cancelled by an operator';
  return endJobs(executor, ids, 'cancelled', JOB_CANCELLED, reason);
}

/**
 * Discards jobs that may still run, as {@link cancelJobs} cancels them: the operator's dead
 * letter. {@link retryJobs} brings them back.
 */
export function discardJobs(
  executor: SqlExecutor,
  ids: readonly JobId[],
  options: EndJobsOptions = {},
): Promise<readonly Job[]> {
  const reason = options.reason ?? 'discarded by an operator';
  return endJobs(executor, ids, 'discarded', JOB_DISCARDED, reason);
}

/**
 * Makes jobs runnable now, whatever their state except executing: a retryable or scheduled job
 * runs at once, an ended one (completed, discarded, cancelled) runs again. A job whose handler
 * failures used up `maxAttempts` gets exactly one more attempt, so replaying a dead job runs it
 * once and discards it again if it fails (BC-23). Returns the jobs made available.
 *
 * A job with a `uniqueActiveKey` that another job now holds cannot be made runnable: the insert
 * of that key's unique index raises a unique violation (code 23505) and nothing changes.
 */
export async function retryJobs(
  executor: SqlExecutor,
  ids: readonly JobId[],
): Promise<readonly Job[]> {
  if (ids.length === 0) return [];
  const result = await executor.query(RETRY_JOBS, [ids.map(String)]);
  return result.rows.map((row) => decodeWrittenJobRow(Job, row));
}
