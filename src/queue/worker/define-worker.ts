import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';

import { describeDecodeErrors } from '../../core/decode-failure.js';
import type { Logger } from '../../core/logger.js';
import type { LeasedJob, NewJob } from '../job.js';
import type { Json } from '../stored-values.js';
import type { JobResult } from './job-result.js';

/** What a handler gets besides its args. */
export interface JobContext {
  /** The job as claimed: id, attempt, errors of earlier attempts. */
  readonly job: LeasedJob;
  /**
   * Aborted when the worker no longer holds the job (lease lost, cancelled by an operator) or
   * stops past its grace period; its `reason` says which: `'lost'`, `'cancelled'` or
   * `'shutdown'`. A handler should stop soon after: its result is not written. At shutdown the
   * worker hands the job back once the handler returns, or after `abortWaitMs` if it does not.
   */
  readonly signal: AbortSignal;
  /** Bound to `jobId`, `kind` and `attempt`. */
  readonly logger: Logger;
}

/**
 * How a job handler runs a claimed job. Returning nothing means done (so a plain `async`
 * function that returns nothing will do); throwing, a failure.
 */
export type JobHandler = (
  job: LeasedJob,
  context: JobContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: an async handler may return nothing
) => Promise<JobResult | void>;

/** The spec given to {@link defineWorker}. */
export interface WorkerSpec<Args, Stored extends Json> {
  /** The queue its jobs wait in. */
  readonly queue: string;
  /** Which jobs of the queue it runs. Default: the queue's name. */
  readonly kind?: string;
  /** Decodes the args of each job; a row that does not decode is discarded, not retried. */
  readonly args: t.Type<Args, Stored, unknown>;
  /** Default of {@link NewJob.maxAttempts} for the jobs built by `job()`. */
  readonly maxAttempts?: number;
  /** Default of {@link NewJob.priority} for the jobs built by `job()`. */
  readonly priority?: number;
  /** Does the work. Return nothing when done, or a {@link JobResult}; throw to retry. */
  // biome-ignore lint/suspicious/noConfusingVoidType: an async perform may return nothing
  readonly perform: (args: Args, context: JobContext) => Promise<JobResult | void>;
}

/** A plain job worker: its queue and kind, a typed job builder, and its handler. */
export interface WorkerDefinition<Args = unknown> {
  readonly queue: string;
  readonly kind: string;
  /** Builds a job to insert with `insertJobs`, args encoded with the codec. */
  job(args: Args, options?: Omit<NewJob, 'queue' | 'kind' | 'args'>): NewJob;
  /** Decodes the job's args and runs `perform`; bad args give a `JobDiscarded` result. */
  run: JobHandler;
}

/** The `name` of the error entry of a job whose args do not decode. */
export const JOB_ARGS_DECODE_FAILURE = 'JobArgsDecodeFailure';

/**
 * Defines a plain (non-saga) job worker: a queue, an io-ts codec for the args and a `perform`
 * function. Run it with a `JobWorker` (`handler: dispatchJobs([worker])`) or inline in tests
 * with `drainQueue`.
 *
 * @example
 * const sendEmail = defineWorker({
 *   queue: 'mail',
 *   args: t.type({ to: t.string, subject: t.string }),
 *   async perform({ to, subject }, { signal }) {
 *     await mailer.send({ to, subject, signal });
 *   },
 * });
 * await insertJobs(sql, [sendEmail.job({ to: 'a@example.com', subject: 'Hi' })]);
 */
export function defineWorker<Args, Stored extends Json>(
  spec: WorkerSpec<Args, Stored>,
): WorkerDefinition<Args> {
  const kind = spec.kind ?? spec.queue;
  return {
    queue: spec.queue,
    kind,
    job: (args, options = {}) => ({
      queue: spec.queue,
      kind,
      args: spec.args.encode(args),
      ...(spec.maxAttempts === undefined ? {} : { maxAttempts: spec.maxAttempts }),
      ...(spec.priority === undefined ? {} : { priority: spec.priority }),
      ...options,
    }),
    run: async (job, context) => {
      const args = spec.args.decode(job.args);
      if (E.isLeft(args)) {
        const { path, message } = describeDecodeErrors(args.left);
        return {
          _tag: 'JobDiscarded',
          name: JOB_ARGS_DECODE_FAILURE,
          message: `args${path}: ${message}`,
        };
      }
      return spec.perform(args.right, context);
    },
  };
}

/** The `name` of the error entry of a job whose kind no worker runs. */
export const UNKNOWN_JOB_KIND = 'UnknownJobKind';

/**
 * One handler for the workers of a queue, dispatching on each job's kind. A job of a kind that
 * none of them runs is discarded with an `UnknownJobKind` error.
 */
export function dispatchJobs(workers: readonly WorkerDefinition<never>[]): JobHandler {
  const byKind = new Map(workers.map((worker) => [worker.kind, worker]));
  if (byKind.size !== workers.length)
    throw new RangeError('dispatchJobs: two workers share a kind');
  return async (job, context) => {
    const worker = byKind.get(job.kind);
    if (worker) return worker.run(job, context);
    const message = `no worker runs kind "${job.kind}" on queue "${job.queue}"`;
    return { _tag: 'JobDiscarded', name: UNKNOWN_JOB_KIND, message };
  };
}
