import type * as E from 'fp-ts/lib/Either.js';

import { computeRetryDelayMs, type RetryPolicy } from '../core/retry.js';
import type { SqlExecutor } from '../ports/sql.js';
import { countHandlerFailures, Job, type LeasedJob } from './job.js';
import { type JobLease, type LeaseLostFailure, runFencedWrite } from './lease.js';
import { SNOOZE_JOB } from './sql/batch-writes.js';
import { COMPLETE_JOB, FAIL_JOB } from './sql/holder-writes.js';

/** Why an attempt failed, as kept in the job's `errors`. */
export interface JobFailure {
  readonly name: string;
  readonly message: string;
}

/** Options of {@link failJob}. */
export interface FailJobOptions {
  /**
   * When to retry. Default: the database's now plus the backoff delay for the handler failures so
   * far ({@link computeRetryDelayMs}: exponential, capped, jittered, never 0; BC-09).
   */
  readonly retryAt?: Date;
  /** Discard the job even if it has attempts left (the failure cannot be retried). */
  readonly discard?: boolean;
  /**
   * How the default retry time is computed. Default: the defaults of {@link RetryPolicy}, a first
   * delay of 1 s doubling up to 60 s, plus up to 20% jitter.
   */
  readonly backoff?: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'jitter'>;
  /** The jitter's random numbers, in [0, 1). Default: `Math.random`. */
  readonly random?: () => number;
}

/**
 * Marks the job completed, if the caller still holds it. Left `LeaseLostFailure` when another
 * claim took it meanwhile: the job is left as it is, and the caller's result must not be trusted
 * to be the only one (BC-03).
 */
export function completeJob(
  executor: SqlExecutor,
  job: JobLease,
): Promise<E.Either<LeaseLostFailure, Job>> {
  return runFencedWrite(executor, Job, COMPLETE_JOB, [job.id, job.leaseToken], job.id);
}

/**
 * Records a failed attempt in the job's `errors`, if the caller still holds it. The job becomes
 * `retryable` at `retryAt` (default: exponential backoff with jitter from the database's now),
 * or `discarded` when `discard` is set or its handler failures reach `maxAttempts`. Attempts
 * lost to an expired lease do not count (see job.ts). Left `LeaseLostFailure`, changing nothing,
 * when another claim took the job.
 */
export function failJob(
  executor: SqlExecutor,
  job: JobLease & Pick<LeasedJob, 'attempt' | 'lostAttempts' | 'snoozes'>,
  failure: JobFailure,
  options: FailJobOptions = {},
): Promise<E.Either<LeaseLostFailure, Job>> {
  if (options.retryAt && Number.isNaN(options.retryAt.getTime())) {
    throw new RangeError('failJob: retryAt is an invalid Date');
  }
  // The delay grows with handler failures only; an attempt lost to a crash is not one.
  const nextAttempt = countHandlerFailures(job) + 1;
  const delayMs = computeRetryDelayMs(
    options.backoff,
    nextAttempt,
    (options.random ?? Math.random)(),
  );
  const params = [
    job.id,
    job.leaseToken,
    failure.name,
    failure.message,
    options.discard ?? false,
    options.retryAt?.toISOString() ?? null,
    delayMs,
  ];
  return runFencedWrite(executor, Job, FAIL_JOB, params, job.id);
}

/** When a snoozed job runs again: after `delayMs` from the database's now, or `at`. */
export type SnoozeUntil = { readonly delayMs: number } | { readonly at: Date };

/**
 * Hands a held job back to run again later, without counting a handler failure: the handler
 * asked to wait (a rate limit, a resource not ready yet). The job becomes `scheduled`; its
 * `snoozes` grows by one. Left `LeaseLostFailure`, changing nothing, when another claim took it.
 */
export function snoozeJob(
  executor: SqlExecutor,
  job: JobLease,
  until: SnoozeUntil,
): Promise<E.Either<LeaseLostFailure, Job>> {
  const at = 'at' in until ? until.at.toISOString() : null;
  const delayMs = 'delayMs' in until ? until.delayMs : 0;
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new RangeError(`snoozeJob: delayMs must not be negative, got ${delayMs}`);
  }
  return runFencedWrite(executor, Job, SNOOZE_JOB, [job.id, job.leaseToken, at, delayMs], job.id);
}
