import * as E from 'fp-ts/lib/Either.js';
import type { Logger } from '../core/logger.js';
import { createSilentLogger } from '../ports/logger.js';
import type { SqlExecutor } from '../ports/sql.js';
import { claimJobs } from './claim-jobs.js';

import { completeJob, type FailJobOptions } from './finish-job.js';
import { Job, type JobState, type LeasedJob } from './job.js';
import { decodeWrittenJobRow } from './job-row.js';
import { LIST_JOBS, MAKE_SCHEDULED_DUE } from './sql/testing.js';
import type { Json } from './stored-values.js';
import type { JobHandler } from './worker/define-worker.js';
import type { JobRunEnd } from './worker/job-events.js';
import { describeThrown, type JobResult, writeJobResult } from './worker/job-result.js';

/** Options of {@link drainQueue}. */
export interface DrainQueueOptions {
  readonly queue: string;
  /** Runs each job, as in a `JobWorker`. */
  readonly handler: JobHandler;
  /**
   * Also run scheduled and retryable jobs whose time has not come, by making them due first:
   * retries with backoff then run at once. Default: false.
   */
  readonly withScheduled?: boolean;
  /**
   * Stop after this many runs, so a job that snoozes for ever cannot hang a test.
   * Default: 1000.
   */
  readonly maxRuns?: number;
  /** Backoff of failed attempts, as in `JobWorker`. */
  readonly backoff?: FailJobOptions['backoff'];
  readonly logger?: Logger;
}

/** One run of {@link drainQueue}: the job as claimed, how the run ended, and the row after it. */
export interface DrainedRun {
  readonly job: LeasedJob;
  readonly end: JobRunEnd;
  /** What the handler threw, if it threw. */
  readonly error?: unknown;
  /** The job as stored once the run's state was written. */
  readonly after: Job;
}

async function readJob(executor: SqlExecutor, job: LeasedJob): Promise<Job> {
  const result = await executor.query(LIST_JOBS, [job.queue, null, [job.id.toString()]]);
  const row = result.rows[0];
  if (!row) throw new Error(`drainQueue: job ${job.id} vanished`);
  return decodeWrittenJobRow(Job, row);
}

async function runInline(
  executor: SqlExecutor,
  job: LeasedJob,
  options: DrainQueueOptions,
  logger: Logger,
): Promise<DrainedRun> {
  let result: JobResult;
  let thrown: { error: unknown } | undefined;
  try {
    const signal = new AbortController().signal;
    result = (await options.handler(job, { job, signal, logger })) ?? { _tag: 'JobDone' };
  } catch (error) {
    thrown = { error };
    result = { _tag: 'JobFailed', ...describeThrown(error) };
  }
  const backoff = options.backoff ? { backoff: options.backoff } : {};
  const end: JobRunEnd =
    result._tag === 'JobDone'
      ? E.isRight(await completeJob(executor, job))
        ? 'completed'
        : 'lost'
      : await writeJobResult(executor, job, result, backoff);
  const after = await readJob(executor, job);
  return thrown ? { job, end, error: thrown.error, after } : { job, end, after };
}

/**
 * Runs a queue's jobs inline, one at a time in claim order, until none is runnable: the testing
 * helper for code that enqueues jobs. Returns every run, in order.
 *
 * @example
 * await signUp(sql, user);
 * const { runs } = await drainQueue(sql, { queue: 'mail', handler: dispatchJobs([sendEmail]) });
 * expect(runs.map((run) => run.end)).toEqual(['completed']);
 */
export async function drainQueue(
  executor: SqlExecutor,
  options: DrainQueueOptions,
): Promise<{ readonly runs: readonly DrainedRun[] }> {
  const logger = options.logger ?? createSilentLogger();
  const maxRuns = options.maxRuns ?? 1000;
  const runs: DrainedRun[] = [];
  while (runs.length < maxRuns) {
    if (options.withScheduled) await executor.query(MAKE_SCHEDULED_DUE, [options.queue]);
    const claim = { queue: options.queue, workerId: 'drainQueue', limit: 1, leaseMs: 60_000 };
    const { jobs } = await claimJobs(executor, claim);
    const job = jobs[0];
    if (!job) break;
    runs.push(await runInline(executor, job, options, logger));
  }
  return { runs };
}

/** What {@link listEnqueued} and {@link assertEnqueued} look for. */
export interface EnqueuedQuery {
  readonly queue: string;
  readonly kind?: string;
  /** Jobs whose args contain these fields with these values (`jsonb @>`). */
  readonly args?: Json;
  /** Default: the states a job waits in (available, scheduled, retryable). */
  readonly states?: readonly JobState[];
}

const WAITING: readonly JobState[] = ['available', 'scheduled', 'retryable'];

/** The jobs of a queue that match `query`, by id. */
export async function listEnqueued(
  executor: SqlExecutor,
  query: EnqueuedQuery,
): Promise<readonly Job[]> {
  const result = await executor.query(LIST_JOBS, [query.queue, query.kind ?? null, null]);
  const states = query.states ?? WAITING;
  const jobs = result.rows.map((row) => decodeWrittenJobRow(Job, row));
  return jobs.filter((job) => states.includes(job.state) && containsArgs(job.args, query.args));
}

function containsArgs(args: Json, wanted: Json | undefined): boolean {
  if (wanted === undefined) return true;
  if (wanted === null || typeof wanted !== 'object') return args === wanted;
  if (args === null || typeof args !== 'object') return false;
  return JSON.stringify(pickLike(args, wanted)) === JSON.stringify(wanted);
}

function pickLike(value: Json, shape: Json): Json {
  if (shape === null || typeof shape !== 'object' || value === null || typeof value !== 'object') {
    return value;
  }
  if (Array.isArray(shape) || Array.isArray(value)) return value;
  const picked: Record<string, Json> = {};
  for (const key of Object.keys(shape)) {
    const inner = Object.getOwnPropertyDescriptor(value, key)?.value;
    const want = Object.getOwnPropertyDescriptor(shape, key)?.value;
    if (inner !== undefined && want !== undefined) picked[key] = pickLike(inner, want);
  }
  return picked;
}

/**
 * Throws an `Error` that lists what is enqueued unless at least one job matches `query`; returns
 * the matching jobs.
 */
export async function assertEnqueued(
  executor: SqlExecutor,
  query: EnqueuedQuery,
): Promise<readonly Job[]> {
  const found = await listEnqueued(executor, query);
  if (found.length > 0) return found;
  const all = await listEnqueued(executor, { queue: query.queue, states: WAITING });
  const seen = all.map((job) => `${job.kind} ${JSON.stringify(job.args)}`).join('; ') || 'nothing';
  throw new Error(`no job enqueued on ${query.queue} matches ${JSON.stringify(query)}: ${seen}`);
}
