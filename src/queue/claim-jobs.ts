import type { Logger } from '../core/logger.js';
import { createSilentLogger } from '../ports/logger.js';
import type { SqlExecutor } from '../ports/sql.js';
import { type ClaimedJobs, decodeClaim } from './claimed-jobs.js';
import { JOB_LEASE_EXPIRED, type LeasedJob } from './job.js';
import { CLAIM_JOBS } from './sql/claim-jobs.js';

/** Options of {@link claimJobs}. */
export interface ClaimJobsOptions {
  /** The queue to claim from. */
  readonly queue: string;
  /** Who claims; kept in `attempted_by`, and named in the `JobLeaseExpired` entry of a rescue. */
  readonly workerId: string;
  /** At most this many jobs; a positive integer. */
  readonly limit: number;
  /** How long the claim holds before another worker may rescue the job; positive. */
  readonly leaseMs: number;
  /** Default: silent. */
  readonly logger?: Logger;
}

function checkOptions(options: ClaimJobsOptions): void {
  if (!Number.isInteger(options.limit) || options.limit < 1) {
    throw new RangeError(`claimJobs: limit must be a positive integer, got ${options.limit}`);
  }
  if (!Number.isFinite(options.leaseMs) || options.leaseMs <= 0) {
    throw new RangeError(`claimJobs: leaseMs must be positive, got ${options.leaseMs}`);
  }
}

// One line per claim, not per job: a claim takes hundreds of short jobs at a time. A rescue is
// worth a line of its own.
function logClaimed(logger: Logger, queue: string, jobs: readonly LeasedJob[]): void {
  for (const job of jobs) {
    const lost = job.errors.at(-1);
    if (lost?.name === JOB_LEASE_EXPIRED && lost.attempt === job.attempt - 1) {
      const fields = { jobId: job.id.toString(), attempt: job.attempt, kind: job.kind };
      logger.warn({ ...fields, lostBy: lost.message }, 'job rescued');
    }
  }
  if (jobs.length > 0) logger.debug({ queue, jobs: jobs.length }, 'jobs claimed');
}

const UNIQUE_VIOLATION = '23505';
const CLAIM_RACE_RETRIES = 5;

function isUniqueViolation(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    error.code === UNIQUE_VIOLATION
  );
}

/**
 * Runs the claim, again when it lost a race for a serial key to a concurrent claimer: the
 * statement then changed nothing, and the next try sees the winner's job executing.
 */
async function claimRows(executor: SqlExecutor, params: readonly unknown[]) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await executor.query(CLAIM_JOBS, params);
    } catch (error) {
      if (!isUniqueViolation(error) || attempt >= CLAIM_RACE_RETRIES) throw error;
    }
  }
}

/**
 * Claims runnable jobs of one queue in one statement: available jobs, scheduled and retryable
 * jobs that are due, and executing jobs whose lease expired (rescued: their lost attempt is
 * recorded as a `JobLeaseExpired` error and does not count against `maxAttempts`). Each claimed
 * job gets `attempt + 1`, a fresh lease token and a lease of `leaseMs` from the database's now.
 *
 * Concurrent claimers, in this process or others, never get the same job.
 *
 * A job whose handlers keep killing their worker is rescued and retried for as long as that
 * goes on, once per lease; its `lostAttempts` shows it.
 */
export async function claimJobs(
  executor: SqlExecutor,
  options: ClaimJobsOptions,
): Promise<ClaimedJobs> {
  checkOptions(options);
  const logger = options.logger ?? createSilentLogger();

  const { queue, workerId, limit, leaseMs } = options;
  const result = await claimRows(executor, [queue, limit, workerId, leaseMs]);

  const { jobs, malformed } = decodeClaim(result.rows[0], queue, workerId);

  for (const failure of malformed) logger.error({ ...failure, queue }, 'claimed job is malformed');
  logClaimed(logger, queue, jobs);
  return { jobs, malformed };
}
