import * as E from 'fp-ts/lib/Either.js';

import type { SqlRow } from '../ports/sql.js';
import { type JobError, JobId, LeasedJob, LeaseToken } from './job.js';
import { decodeJobRow, JobDecodeError, type JobDecodeFailure } from './job-row.js';
import { CLAIMED_JOB_FIELDS } from './sql/claim-jobs.js';
import { Json } from './stored-values.js';

/**
 * Reads what the claim statement returns (see `CLAIM_JOBS`): one row holding the claim's lease
 * and its jobs as a JSON array of tuples.
 *
 * A claim returns hundreds of jobs at a time, and the general io-ts codec of {@link LeasedJob}
 * costs more per job than the claim itself once jobs are short. So each tuple is read here with
 * plain checks that accept exactly what the codec accepts; the user's `args` still go through the
 * io-ts `Json` codec. A tuple that fails any check is decoded again by the codec, as the record
 * {@link claimedJobRecord} makes of it, which names the field at fault.
 */

/** The lease that every job of one claim shares. */
export interface ClaimLease {
  readonly queue: string;
  readonly attemptedBy: string;
  readonly leaseToken: LeaseToken;
  readonly attemptedAt: Date;
  readonly leaseExpiresAt: Date;
}

/** What a claim took: the jobs now held, and the rows that do not decode. */
export interface ClaimedJobs {
  /** The jobs now held by the worker, in claim order (priority, scheduled_at, id). */
  readonly jobs: readonly LeasedJob[];
  /**
   * Rows that were claimed but do not decode. Each stays executing until its lease expires and is
   * then reported again at the next claim: a person must repair or delete the row.
   */
  readonly malformed: readonly JobDecodeFailure[];
}

/** Returned by a reader for a value its codec would refuse. */
const INVALID = Symbol('invalid');
type Read<Value> = Value | typeof INVALID;

const DIGITS = /^-?\d+$/;
const TIME_FIELDS = new Set<string>([
  'scheduledAt',
  'completedAt',
  'discardedAt',
  'cancelledAt',
  'insertedAt',
]);

function readId(value: unknown): Read<JobId> {
  let id: bigint;
  if (typeof value === 'bigint') id = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) id = BigInt(value);
  else if (typeof value === 'string' && DIGITS.test(value)) id = BigInt(value);
  else return INVALID;
  return JobId.is(id) ? id : INVALID;
}

/** A time as the claim sends it, epoch milliseconds. */
function readEpoch(value: unknown): Read<Date> {
  if (typeof value !== 'number') return INVALID;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? INVALID : date;
}

function readNullableEpoch(value: unknown): Read<Date | null> {
  return value === null ? null : readEpoch(value);
}

function readNullableString(value: unknown): Read<string | null> {
  return value === null || typeof value === 'string' ? value : INVALID;
}

/** A time kept inside `jsonb`: ISO 8601 text. */
function readIsoTime(value: unknown): Read<Date> {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? INVALID : value;
  if (typeof value !== 'string') return INVALID;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? INVALID : parsed;
}

function readJobError(value: unknown): Read<JobError> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return INVALID;
  const entry: Record<string, unknown> = { ...value };
  const at = readIsoTime(entry.at);
  const { attempt, name, message } = entry;
  if (at === INVALID || typeof attempt !== 'number') return INVALID;
  if (typeof name !== 'string' || typeof message !== 'string') return INVALID;
  return { attempt, at, name, message };
}

function readErrors(value: unknown): Read<readonly JobError[]> {
  if (!Array.isArray(value)) return INVALID;
  const errors: JobError[] = [];
  for (const item of value) {
    const entry = readJobError(item);
    if (entry === INVALID) return INVALID;
    errors.push(entry);
  }
  return errors;
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number';
}

/** The job of a tuple, or {@link INVALID} if any field is one the codec would refuse. */
function readClaimedJob(tuple: readonly unknown[], lease: ClaimLease): Read<LeasedJob> {
  if (tuple.length !== CLAIMED_JOB_FIELDS.length) return INVALID;
  const [rawId, kind, args, priority, attempt, maxAttempts, lostAttempts, snoozes] = tuple;
  const id = readId(rawId);
  if (id === INVALID || typeof kind !== 'string' || !Json.is(args)) return INVALID;
  if (!isNumber(priority) || !isNumber(attempt) || !isNumber(maxAttempts)) return INVALID;
  if (!isNumber(lostAttempts) || !isNumber(snoozes)) return INVALID;
  const [, , , , , , , , rawScheduledAt, rawCompletedAt, rawDiscardedAt, rawCancelledAt] = tuple;
  const scheduledAt = readEpoch(rawScheduledAt);
  const completedAt = readNullableEpoch(rawCompletedAt);
  const discardedAt = readNullableEpoch(rawDiscardedAt);
  const cancelledAt = readNullableEpoch(rawCancelledAt);
  if (scheduledAt === INVALID || completedAt === INVALID) return INVALID;
  if (discardedAt === INVALID || cancelledAt === INVALID) return INVALID;
  const errors = readErrors(tuple[12]);
  const uniqueKey = readNullableString(tuple[13]);
  const uniqueActiveKey = readNullableString(tuple[14]);
  const serialKey = readNullableString(tuple[15]);
  const insertedAt = readEpoch(tuple[16]);
  if (errors === INVALID || uniqueKey === INVALID || uniqueActiveKey === INVALID) return INVALID;
  if (serialKey === INVALID || insertedAt === INVALID) return INVALID;
  return {
    id,
    queue: lease.queue,
    kind,
    args,
    state: 'executing',
    priority,
    attempt,
    maxAttempts,
    lostAttempts,
    snoozes,
    scheduledAt,
    attemptedAt: new Date(lease.attemptedAt),
    attemptedBy: lease.attemptedBy,
    leaseToken: lease.leaseToken,
    leaseExpiresAt: new Date(lease.leaseExpiresAt),
    completedAt,
    discardedAt,
    cancelledAt,
    errors,
    uniqueKey,
    uniqueActiveKey,
    serialKey,
    insertedAt,
  };
}

/**
 * A claimed tuple as a named job record, for the codec: the claim's lease fields added, and each
 * time that is a number made a `Date` (a time that is not stays as it is, for the codec to name).
 */
export function claimedJobRecord(tuple: readonly unknown[], lease: ClaimLease): SqlRow {
  const record: Record<string, unknown> = { ...lease, state: 'executing' };
  CLAIMED_JOB_FIELDS.forEach((field, index) => {
    const value = tuple[index];
    record[field] = TIME_FIELDS.has(field) && typeof value === 'number' ? new Date(value) : value;
  });
  return record;
}

/**
 * Decodes one claimed tuple as {@link LeasedJob}: the same result as the codec gives for
 * {@link claimedJobRecord}, at a fraction of the cost.
 */
export function decodeClaimedJob(
  tuple: unknown,
  lease: ClaimLease,
): E.Either<JobDecodeFailure, LeasedJob> {
  const job = Array.isArray(tuple) ? readClaimedJob(tuple, lease) : INVALID;
  if (job !== INVALID) return E.right(job);
  return decodeJobRow(LeasedJob, claimedJobRecord(Array.isArray(tuple) ? tuple : [], lease));
}

/** The claim's lease, written by this very statement: a lease that does not read is a bug. */
function readLease(row: SqlRow, queue: string, attemptedBy: string): ClaimLease {
  const { leaseToken } = row;
  const attemptedAt = readEpoch(row.attemptedAt);
  const leaseExpiresAt = readEpoch(row.leaseExpiresAt);
  if (attemptedAt === INVALID || leaseExpiresAt === INVALID || !LeaseToken.is(leaseToken)) {
    const message = `expected a lease token and two epoch times, got ${JSON.stringify(row)}`;
    throw new JobDecodeError({
      _tag: 'JobDecodeFailure',
      jobId: 'unknown',
      path: 'lease',
      message,
    });
  }
  return { queue, attemptedBy, leaseToken, attemptedAt, leaseExpiresAt };
}

function compareClaimOrder(a: LeasedJob, b: LeasedJob): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const byTime = a.scheduledAt.getTime() - b.scheduledAt.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Decodes the row the claim statement returned, claimed for `queue` by `attemptedBy`; the jobs in
 * claim order.
 */
export function decodeClaim(
  row: SqlRow | undefined,
  queue: string,
  attemptedBy: string,
): ClaimedJobs {
  if (row === undefined || row.jobs === null) return { jobs: [], malformed: [] };
  const lease = readLease(row, queue, attemptedBy);
  const tuples = Array.isArray(row.jobs) ? row.jobs : [row.jobs];
  const jobs: LeasedJob[] = [];
  const malformed: JobDecodeFailure[] = [];
  for (const tuple of tuples) {
    const decoded = decodeClaimedJob(tuple, lease);
    if (E.isRight(decoded)) jobs.push(decoded.right);
    else malformed.push(decoded.left);
  }
  return { jobs: jobs.sort(compareClaimOrder), malformed };
}
