import * as t from 'io-ts';

import type { SqlExecutor } from '../ports/sql.js';
import { JobState } from './job.js';
import { decodeWrittenJobRow } from './job-row.js';
import { COUNT_JOBS, FIND_STRANDED_JOBS, PRUNE_JOBS } from './sql/maintenance.js';

/** Options of {@link pruneJobs}. */
export interface PruneJobsOptions {
  /** Keep ended jobs this long after they ended. Default: 7 days. */
  readonly retentionMs?: number;
  /**
   * Delete at most this many in one call, so a big backlog does not hold locks long.
   * Default: 10,000.
   */
  readonly limit?: number;
}

const PrunedRow = t.type({ pruned: t.number });

/**
 * Deletes completed, discarded and cancelled jobs older than the retention period and returns
 * how many. Jobs with a `uniqueKey` are never deleted: their key must stay taken for ever (the
 * job feeder relies on it so that a replayed projection inserts nothing twice), so their rows
 * stay as tombstones; only cron ticks older than their schedule's last tick are deleted.
 */
export async function pruneJobs(
  executor: SqlExecutor,
  options: PruneJobsOptions = {},
): Promise<number> {
  const retentionMs = options.retentionMs ?? 7 * 24 * 60 * 60 * 1000;
  const limit = options.limit ?? 10_000;
  if (!Number.isFinite(retentionMs) || retentionMs < 0) {
    throw new RangeError(`pruneJobs: retentionMs must not be negative, got ${retentionMs}`);
  }
  const result = await executor.query(PRUNE_JOBS, [retentionMs, limit]);
  const row = result.rows[0];
  return row ? decodeWrittenJobRow(PrunedRow, row).pruned : 0;
}

/** A job that has not ended and that nothing will ever claim. */
export const StrandedJob = t.type(
  { id: t.string, queue: t.string, state: JobState },
  'StrandedJob',
);
export type StrandedJob = t.TypeOf<typeof StrandedJob>;

/**
 * The invariant check "no job is unlocked, non-terminal and unclaimable" (BC-01, BC-02): returns
 * the jobs that break it (up to 100), which should be none.
 */
export async function findStrandedJobs(executor: SqlExecutor): Promise<readonly StrandedJob[]> {
  const result = await executor.query(FIND_STRANDED_JOBS);
  return result.rows.map((row) => decodeWrittenJobRow(StrandedJob, row));
}

/** How many jobs one queue holds in one state. */
export const QueueDepth = t.type(
  { queue: t.string, state: JobState, count: t.number, due: t.number },
  'QueueDepth',
);
export type QueueDepth = t.TypeOf<typeof QueueDepth>;

/** The depth of every queue by state, for `rewind jobs` and dashboards. */
export async function countJobs(executor: SqlExecutor): Promise<readonly QueueDepth[]> {
  const result = await executor.query(COUNT_JOBS);
  return result.rows.map((row) => decodeWrittenJobRow(QueueDepth, row));
}
