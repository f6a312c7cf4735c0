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

/** An id or a lease token as the database writes them: digits, or a UUID. */
const PLAIN_ELEMENT = /^(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/**
 * The ids or lease tokens of held jobs as one text array literal. They need no quoting, and the
 * driver's own serialisation escapes every element through a regular expression, a cost a worker
 * pays for every job it completes. A value of any other form is left to the driver.
 */
function toArrayParam(values: readonly string[]): string | readonly string[] {
  return values.every((value) => PLAIN_ELEMENT.test(value)) ? `{${values.join(',')}}` : values;
}

async function runHeldWrite(
  executor: SqlExecutor,
  statement: string,
  leases: readonly JobLease[],
  extra: readonly unknown[],
): Promise<BatchWriteResult> {
  if (leases.length === 0) return { changed: [], lost: [] };
  const ids = leases.map((lease) => lease.id.toString());
  const tokens = leases.map((lease) => lease.leaseToken);
  const params = [toArrayParam(ids), toArrayParam(tokens), ...extra];
  const result = await executor.query(statement, params);
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
