import * as t from 'io-ts';

import type { SqlClient } from '../ports/sql.js';
import { type ClaimJobsOptions, claimJobs } from './claim-jobs.js';
import type { ClaimedJobs } from './claimed-jobs.js';
import { decodeWrittenJobRow } from './job-row.js';
import { COUNT_LIVE_LEASES, LOCK_QUEUE } from './sql/global-limit.js';

/** Options of {@link claimJobsWithGlobalLimit}. */
export interface GlobalLimitClaimOptions extends ClaimJobsOptions {
  /**
   * At most this many jobs of the queue execute at once across every worker and node. Every
   * worker of the queue must be given the same value.
   */
  readonly globalLimit: number;
}

const CountRow = t.type({ executing: t.number });

/**
 * Claims as {@link claimJobs} does, but never so many that more than `globalLimit` jobs of the
 * queue would hold a live lease. Claimers of the queue take turns on a transaction-scoped
 * advisory lock, and each counts the live leases after taking it, so two nodes cannot both see
 * room for the same slot. Jobs with an expired lease do not count: the claim rescues them.
 */
export function claimJobsWithGlobalLimit(
  sql: SqlClient,
  options: GlobalLimitClaimOptions,
): Promise<ClaimedJobs> {
  if (!Number.isInteger(options.globalLimit) || options.globalLimit < 1) {
    throw new RangeError(`globalLimit must be a positive integer, got ${options.globalLimit}`);
  }
  return sql.transaction(async (tx) => {
    await tx.query(LOCK_QUEUE, [options.queue]);
    const counted = await tx.query(COUNT_LIVE_LEASES, [options.queue]);
    const row = counted.rows[0];
    const executing = row ? decodeWrittenJobRow(CountRow, row).executing : 0;
    const room = Math.min(options.limit, options.globalLimit - executing);
    if (room < 1) return { jobs: [], malformed: [] };
    return claimJobs(tx, { ...options, limit: room });
  });
}
