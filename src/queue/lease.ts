import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';

import type { SqlExecutor } from '../ports/sql.js';
import { type JobId, LeasedJob } from './job.js';
import { decodeWrittenJobRow } from './job-row.js';
import { EXTEND_LEASE } from './sql/holder-writes.js';

/**
 * The caller no longer holds the job: its lease expired and another worker claimed it (or it is
 * no longer executing). Nothing was changed; the caller must stop working on it.
 */
export interface LeaseLostFailure {
  readonly _tag: 'LeaseLostFailure';
  readonly jobId: JobId;
}

/** What a lease holder needs to write to its job: the job and the token of its claim. */
export type JobLease = Pick<LeasedJob, 'id' | 'leaseToken'>;

/**
 * Runs a statement fenced by the lease's token and decodes the job it returns, or reports the
 * lease as lost when it returns none.
 */
export async function runFencedWrite<Decoded>(
  executor: SqlExecutor,
  codec: t.Decoder<unknown, Decoded>,
  statement: string,
  params: readonly unknown[],
  jobId: JobId,
): Promise<E.Either<LeaseLostFailure, Decoded>> {
  const result = await executor.query(statement, params);
  const row = result.rows[0];
  if (!row) return E.left({ _tag: 'LeaseLostFailure', jobId });
  return E.right(decodeWrittenJobRow(codec, row));
}

/**
 * Moves the job's lease to `leaseMs` from the database's now: the heartbeat of a long handler,
 * so that the job is not rescued while it still runs (BC-03). A holder whose lease ran out but
 * whose job nobody took yet still extends it. Left `LeaseLostFailure` once another claim took it.
 */
export async function extendLease(
  executor: SqlExecutor,
  job: JobLease,
  leaseMs: number,
): Promise<E.Either<LeaseLostFailure, LeasedJob>> {
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw new RangeError(`extendLease: leaseMs must be positive, got ${leaseMs}`);
  }
  const params = [job.id, job.leaseToken, leaseMs];
  return runFencedWrite(executor, LeasedJob, EXTEND_LEASE, params, job.id);
}
