import * as t from 'io-ts';

import { BigIntFromStored } from '../core/events.js';
import { DateFromStored, Json, nullable } from './stored-values.js';

/**
 * The jobs of the Postgres queue (table `rewind_jobs`, migration 002).
 *
 * - job: one unit of work on a named queue: a `kind` that says which handler runs it, and `args`.
 * - attempt: one claim of a job by a worker. `attempt` counts claims, from 1.
 * - lease: the claim's hold on the job, until `leaseExpiresAt`. `leaseToken` is new at every
 *   claim, and every write of the holder (complete, fail, heartbeat) is fenced by it: once the
 *   lease expired and another worker took the job, the old holder can change nothing (BC-03).
 * - lost attempt: a claim whose lease expired before it finished, taken to mean a crashed or
 *   stalled worker. It is recorded as a `JobLeaseExpired` entry in `errors` and counted in
 *   `lostAttempts`, but it does not use up `maxAttempts`: only handler failures do (BC-02).
 */

export interface JobIdBrand {
  readonly JobId: unique symbol;
}
/** The id of a job: the row's `bigserial`, a bigint end to end. */
export const JobId = t.brand(
  BigIntFromStored,
  (id): id is t.Branded<bigint, JobIdBrand> => id > 0n,
  'JobId',
);
export type JobId = t.TypeOf<typeof JobId>;

export interface LeaseTokenBrand {
  readonly LeaseToken: unique symbol;
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The fencing token of one claim: a UUID, new at every claim. Checked for that shape, since a
 * batched write sends many tokens in one statement and one that Postgres cannot read as a UUID
 * would fail the whole batch.
 */
export const LeaseToken = t.brand(
  t.string,
  (token): token is t.Branded<string, LeaseTokenBrand> => UUID.test(token),
  'LeaseToken',
);
export type LeaseToken = t.TypeOf<typeof LeaseToken>;

/**
 * Handler failures of a job so far: claims that did not end in a crash (a lost lease) or a
 * snooze. Only these count against `maxAttempts` (BC-02).
 */
export function countHandlerFailures(
  job: Pick<Job, 'attempt' | 'lostAttempts' | 'snoozes'>,
): number {
  return job.attempt - job.lostAttempts - job.snoozes;
}

/** Where a job is in its life; see migrations/002_jobs.sql for each state's meaning. */
export const JobState = t.keyof(
  {
    available: null,
    scheduled: null,
    executing: null,
    retryable: null,
    completed: null,
    discarded: null,
    cancelled: null,
  },
  'JobState',
);
export type JobState = t.TypeOf<typeof JobState>;

/** One attempt that did not succeed, as kept in the job's `errors`. */
export const JobError = t.readonly(
  t.exact(t.type({ attempt: t.number, at: DateFromStored, name: t.string, message: t.string })),
  'JobError',
);
export type JobError = t.TypeOf<typeof JobError>;

/** The `name` of the `errors` entry that a rescue writes for an attempt whose lease expired. */
export const JOB_LEASE_EXPIRED = 'JobLeaseExpired';

const jobProps = {
  id: JobId,
  queue: t.string,
  kind: t.string,
  args: Json,
  state: JobState,
  /** 0 to 9; 0 is claimed first. */
  priority: t.number,
  attempt: t.number,
  maxAttempts: t.number,
  lostAttempts: t.number,
  /** Claims that ended in a snooze; like lost attempts, they do not use up `maxAttempts`. */
  snoozes: t.number,
  /** When the job becomes runnable (scheduled, retryable); when it was inserted otherwise. */
  scheduledAt: DateFromStored,
  attemptedAt: nullable(DateFromStored),
  attemptedBy: nullable(t.string),
  leaseToken: nullable(LeaseToken),
  leaseExpiresAt: nullable(DateFromStored),
  completedAt: nullable(DateFromStored),
  discardedAt: nullable(DateFromStored),
  cancelledAt: nullable(DateFromStored),
  errors: t.readonlyArray(JobError),
  uniqueKey: nullable(t.string),
  /** Unique among the jobs that may still run; free again once the job ends (migration 004). */
  uniqueActiveKey: nullable(t.string),
  serialKey: nullable(t.string),
  insertedAt: DateFromStored,
};

/** A job row as read back, in any state. */
export const Job = t.readonly(t.exact(t.type(jobProps)), 'Job');
export type Job = t.TypeOf<typeof Job>;

/** A job that a worker holds: executing, with a holder and a lease. What a claim returns. */
export const LeasedJob = t.readonly(
  t.exact(
    t.type({
      ...jobProps,
      state: t.literal('executing'),
      attemptedAt: DateFromStored,
      attemptedBy: t.string,
      leaseToken: LeaseToken,
      leaseExpiresAt: DateFromStored,
    }),
  ),
  'LeasedJob',
);
export type LeasedJob = t.TypeOf<typeof LeasedJob>;

/** Default {@link NewJob.priority}. */
export const DEFAULT_PRIORITY = 0;
/** Default {@link NewJob.maxAttempts}, as in Oban. */
export const DEFAULT_MAX_ATTEMPTS = 20;

/** A job to insert. */
export interface NewJob {
  /** The queue it waits in; workers claim from one queue. */
  readonly queue: string;
  /** Which handler runs it. */
  readonly kind: string;
  /** The handler's input, stored as `jsonb`. Non-finite numbers are refused. */
  readonly args: Json;
  /** 0 (first) to 9. Default: {@link DEFAULT_PRIORITY}. */
  readonly priority?: number;
  /** Handler failures allowed before it is discarded. Default: {@link DEFAULT_MAX_ATTEMPTS}. */
  readonly maxAttempts?: number;
  /** Not runnable before this time (the database's clock decides). Default: now. */
  readonly scheduledAt?: Date;
  /** At most one job ever exists with this key; a second insert is reported as a duplicate. */
  readonly uniqueKey?: string;
  /**
   * At most one job that may still run (available, scheduled, executing, retryable) has this
   * key; once it ends, the key can be used again. See {@link uniqueJob} to derive it from chosen
   * fields and a period.
   */
  readonly uniqueActiveKey?: string;
  /** Jobs with the same serial key run one at a time, in claim order. Default: none. */
  readonly serialKey?: string;
}
