import * as E from 'fp-ts/lib/Either.js';

import type { SqlExecutor } from '../../ports/sql.js';
import { type FailJobOptions, failJob, snoozeJob } from '../finish-job.js';
import { Job, type LeasedJob } from '../job.js';
import { type LeaseLostFailure, runFencedWrite } from '../lease.js';
import { CANCEL_HELD_JOB, RELEASE_JOB } from '../sql/holder-ends.js';
import type { JobRunEnd } from './job-events.js';

/**
 * What a handler says became of its job. Returning nothing means {@link JobDone}; throwing means
 * a failure to retry with backoff.
 */
export type JobResult = JobDone | JobSnoozed | JobCancelled | JobDiscarded | JobFailed;

/** The job is done. */
export interface JobDone {
  readonly _tag: 'JobDone';
}
/** Run the job again after `delayMs`, without counting a failure. */
export interface JobSnoozed {
  readonly _tag: 'JobSnoozed';
  readonly delayMs: number;
}
/** The job is no longer wanted; it ends as cancelled. */
export interface JobCancelled {
  readonly _tag: 'JobCancelled';
  readonly reason: string;
}
/** The job cannot succeed (bad args, a permanent refusal); it ends as discarded, no retry. */
export interface JobDiscarded {
  readonly _tag: 'JobDiscarded';
  readonly name: string;
  readonly message: string;
}
/** The attempt failed; retried with backoff while attempts are left, at `retryAt` if given. */
export interface JobFailed {
  readonly _tag: 'JobFailed';
  readonly name: string;
  readonly message: string;
  readonly retryAt?: Date;
}

/** {@link JobDone}. */
export const jobDone: JobDone = { _tag: 'JobDone' };

/** Describes a thrown value as the `name` and `message` kept in the job's `errors`. */
export function describeThrown(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  if (typeof error === 'string') return { name: 'NonErrorThrown', message: error };
  let message: string;
  try {
    message = JSON.stringify(error) ?? String(error);
  } catch {
    message = String(error);
  }
  return { name: 'NonErrorThrown', message };
}

function endOf(job: Job): JobRunEnd {
  switch (job.state) {
    case 'completed':
    case 'retryable':
    case 'discarded':
    case 'cancelled':
      return job.state;
    case 'scheduled':
      return 'snoozed';
    case 'available':
      return 'released';
    case 'executing':
      throw new Error(`job ${job.id} is still executing after its result was written`);
  }
}

function toEnd(written: E.Either<LeaseLostFailure, Job>): JobRunEnd {
  return E.isLeft(written) ? 'lost' : endOf(written.right);
}

/**
 * Writes a result other than {@link JobDone} (which workers complete in batches) for a held job,
 * fenced by its lease, and says how the run ended.
 */
export async function writeJobResult(
  executor: SqlExecutor,
  job: LeasedJob,
  result: Exclude<JobResult, JobDone>,
  failOptions: FailJobOptions,
): Promise<JobRunEnd> {
  switch (result._tag) {
    case 'JobSnoozed':
      return toEnd(await snoozeJob(executor, job, { delayMs: result.delayMs }));
    case 'JobCancelled': {
      const params = [job.id, job.leaseToken, result.reason];
      return toEnd(await runFencedWrite(executor, Job, CANCEL_HELD_JOB, params, job.id));
    }
    case 'JobDiscarded': {
      const failure = { name: result.name, message: result.message };
      return toEnd(await failJob(executor, job, failure, { ...failOptions, discard: true }));
    }
    case 'JobFailed': {
      const failure = { name: result.name, message: result.message };
      const options = result.retryAt ? { ...failOptions, retryAt: result.retryAt } : failOptions;
      return toEnd(await failJob(executor, job, failure, options));
    }
  }
}

/**
 * Hands a held job back, runnable at once, because the worker stops before its handler did
 * (BC-25). The attempt counts as lost, not failed. Left when the worker no longer held it.
 */
export function releaseJob(
  executor: SqlExecutor,
  job: LeasedJob,
  workerId: string,
): Promise<E.Either<LeaseLostFailure, Job>> {
  return runFencedWrite(executor, Job, RELEASE_JOB, [job.id, job.leaseToken, workerId], job.id);
}
