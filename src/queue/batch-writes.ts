import * as t from 'io-ts';

import type { SqlExecutor } from '../ports/sql.js';
import { JobId } from './job.js';
import { decodeWrittenJobRow } from './job-row.js';
import type { JobLease } from './lease.js';
import { COMPLETE_JOBS, EXTEND_LEASES } from './sql/batch-writes.js';

/** A job a held write could not change. */
const LostRow = t.type({ id: JobId });

/** Which of the given jobs a batched holder write changed, and which it could not. */
export interface BatchWriteResult {
  /** Jobs still held by the caller, now changed. */
  readonly changed: readonly JobId[];
  /**
   * Jobs the caller no longer holds (another claim took them, or an operator cancelled them):
   * nothing was changed for them (BC-03).
   */
  readonly lost: readonly JobId[];
}

/**
 * The parameters of a held batch (`HELD_BATCH`): the ids as one array literal, and a JSON object
 * from each id to its lease token. Both are plain text built here, where the driver would escape
 * every element of an array through a regular expression, a cost a worker pays for every job.
 */
export function toHeldBatchParams(leases: readonly JobLease[]): [string, string] {
  const ids = leases.map((lease) => lease.id.toString());
  const tokens: Record<string, string> = {};
  for (const lease of leases) tokens[lease.id.toString()] = lease.leaseToken;
  return [`{${ids.join(',')}}`, JSON.stringify(tokens)];
}

async function runHeldWrite(
  executor: SqlExecutor,
  statement: string,
  leases: readonly JobLease[],
  extra: readonly unknown[],
): Promise<BatchWriteResult> {
  if (leases.length === 0) return { changed: [], lost: [] };
  const result = await executor.query(statement, [...toHeldBatchParams(leases), ...extra]);
  if (result.rows.length === 0) return { changed: leases.map((lease) => lease.id), lost: [] };
  const gone = new Set(result.rows.map((row) => decodeWrittenJobRow(LostRow, row).id));
  const held = leases.map((lease) => lease.id);
  return { changed: held.filter((id) => !gone.has(id)), lost: held.filter((id) => gone.has(id)) };
}

/**
 * Marks many held jobs completed in one statement, each fenced by its own lease token: the
 * batched form of `completeJob`, so a busy worker does not pay one round trip per job.
 */
export function completeJobs(
  executor: SqlExecutor,
  leases: readonly JobLease[],
): Promise<BatchWriteResult> {
  return runHeldWrite(executor, COMPLETE_JOBS, leases, []);
}

/**
 * Extends the leases of many held jobs to `leaseMs` from the database's now in one statement: a
 * worker's heartbeat for all its running jobs. A job reported `lost` must be abandoned: it was
 * rescued by another worker, or cancelled.
 */
export function extendLeases(
  executor: SqlExecutor,
  leases: readonly JobLease[],
  leaseMs: number,
): Promise<BatchWriteResult> {
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw new RangeError(`extendLeases: leaseMs must be positive, got ${leaseMs}`);
  }
  return runHeldWrite(executor, EXTEND_LEASES, leases, [leaseMs]);
}
