import * as t from 'io-ts';

import type { SqlExecutor } from '../ports/sql.js';
import { JobId } from './job.js';
import { decodeWrittenJobRow } from './job-row.js';
import type { JobLease } from './lease.js';
import { COMPLETE_JOBS, EXTEND_LEASES, UNCLAIM_JOBS } from './sql/batch-writes.js';

/** A job a held write could not change. */
const LostRow = t.type({ id: JobId });

/**
 * Which of the given leases a batched holder write changed, and which it could not: the very
 * objects given, so that two leases of one job (a run that lost it and the run that rescued it)
 * are told apart.
 */
export interface BatchWriteResult<Lease extends JobLease = JobLease> {
  /** Leases still held by the caller, their jobs now changed. */
  readonly changed: readonly Lease[];
  /**
   * Leases the caller no longer holds (another claim took the job, or an operator cancelled
   * it): nothing was changed under them (BC-03).
   */
  readonly lost: readonly Lease[];
}

/**
 * The parameters of a held batch (`HELD_BATCH`): the ids as one array literal, and a JSON object
 * from each id to its lease token. Both are plain text built here, where the driver would escape
 * every element of an array through a regular expression, a cost a worker pays for every job.
 */
export function toHeldBatchParams(leases: readonly JobLease[]): [string, string] {
  let ids = '';
  let tokens = '';
  for (const lease of leases) {
    const separator = ids === '' ? '' : ',';
    const id = lease.id.toString();
    ids += separator + id;
    // An object keyed by the ids would be an array-like object to V8, slow to build and to
    // stringify; the ids are digits and need no escaping.
    tokens += `${separator}"${id}":${JSON.stringify(lease.leaseToken)}`;
  }
  return [`{${ids}}`, `{${tokens}}`];
}

/**
 * The leases in rounds within which no job appears twice: a JSON object holds one token per id.
 * A job can appear twice only when a run that lost its lease and the run that rescued it end in
 * the same batch; each round is then one statement.
 */
function splitRepeatedJobs<Lease extends JobLease>(leases: readonly Lease[]): Lease[][] {
  const rounds: Lease[][] = [];
  const seen = new Map<JobLease['id'], number>();
  for (const lease of leases) {
    const round = seen.get(lease.id) ?? 0;
    seen.set(lease.id, round + 1);
    const jobs = rounds[round] ?? [];
    jobs.push(lease);
    rounds[round] = jobs;
  }
  return rounds;
}

async function runHeldWrite<Lease extends JobLease>(
  executor: SqlExecutor,
  statement: string,
  leases: readonly Lease[],
  extra: readonly unknown[],
): Promise<BatchWriteResult<Lease>> {
  const changed: Lease[] = [];
  const lost: Lease[] = [];
  for (const round of splitRepeatedJobs(leases)) {
    const result = await executor.query(statement, [...toHeldBatchParams(round), ...extra]);
    const gone = new Set(result.rows.map((row) => decodeWrittenJobRow(LostRow, row).id));
    for (const lease of round) (gone.has(lease.id) ? lost : changed).push(lease);
  }
  return { changed, lost };
}

/**
 * Marks many held jobs completed in one statement, each fenced by its own lease token: the
 * batched form of `completeJob`, so a busy worker does not pay one round trip per job.
 */
export function completeJobs<Lease extends JobLease>(
  executor: SqlExecutor,
  leases: readonly Lease[],
): Promise<BatchWriteResult<Lease>> {
  return runHeldWrite(executor, COMPLETE_JOBS, leases, []);
}

/**
 * Extends the leases of many held jobs to `leaseMs` from the database's now in one statement: a
 * worker's heartbeat for all its running jobs. A job reported `lost` must be abandoned: it was
 * rescued by another worker, or cancelled.
 */
export function extendLeases<Lease extends JobLease>(
  executor: SqlExecutor,
  leases: readonly Lease[],
  leaseMs: number,
): Promise<BatchWriteResult<Lease>> {
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw new RangeError(`extendLeases: leaseMs must be positive, got ${leaseMs}`);
  }
  return runHeldWrite(executor, EXTEND_LEASES, leases, [leaseMs]);
}

/**
 * Hands back held jobs that never started (a worker's prefetched jobs at shutdown), as if they
 * had not been claimed: `attempt` goes back down, so the claim costs nothing.
 */
export function unclaimJobs<Lease extends JobLease>(
  executor: SqlExecutor,
  leases: readonly Lease[],
): Promise<BatchWriteResult<Lease>> {
  return runHeldWrite(executor, UNCLAIM_JOBS, leases, []);
}
