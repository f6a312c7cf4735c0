import * as E from 'fp-ts/lib/Either.js';

import { SAGA_QUEUE, SagaJobArgs } from '../../projections/job-feeder.js';
import { describeDecodeErrors } from '../core/decode-failure.js';
import type { Logger } from '../core/logger.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { EventStore } from '../ports/event-store.js';
import { type IdGenerator, uuidGenerator } from '../ports/ids.js';
import { createSilentLogger } from '../ports/logger.js';
import type { SqlClient } from '../ports/sql.js';
import type { LeasedJob } from '../queue/job.js';
import { JOB_ARGS_DECODE_FAILURE, type JobContext } from '../queue/worker/define-worker.js';
import { type JobResult, jobDone } from '../queue/worker/job-result.js';
import { JobWorker } from '../queue/worker/job-worker.js';
import { describeSagaRunFailure } from './describe-failure.js';
import type { SagaNotification } from './saga-notification.js';
import type { SagaRegistry } from './saga-registry.js';
import type { InterruptReason, SagaRunFailure, SagaRunOutcome } from './saga-run-outcome.js';
import { advanceSaga } from './saga-runner.js';
import { StreamWatch } from './stream-watch.js';

/** Options of {@link SagaWorker}. */
export interface SagaWorkerOptions {
  readonly sql: SqlClient;
  readonly store: EventStore;
  readonly registry: SagaRegistry;
  /** Sagas run at once by this worker. Default: 10. */
  readonly concurrency?: number;
  /**
   * How long a claim holds without a heartbeat; heartbeats come every third of it.
   * Default: 30 s.
   */
  readonly leaseMs?: number;
  /** The polling fallback when no notification arrives. Default: 1000 ms. */
  readonly pollMs?: number;
  /** Delay before a job that lost a race on its stream runs again. Default: 1000 ms. */
  readonly conflictDelayMs?: number;
  /**
   * Delay before a job whose saga definition (name and version) this worker does not have is
   * tried again, by whichever worker claims it: in a rolling deploy, one that has it. After the
   * job's attempts are spent it is discarded, naming saga and version. Default: 5000 ms.
   */
  readonly unknownSagaDelayMs?: number;
  /** Kept on claimed jobs. Default: host name, process id and a random suffix. */
  readonly workerId?: string;
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Lifecycle notifications of the sagas this worker runs. */
  readonly notify?: (notification: SagaNotification) => void;
}

/**
 * Why the saga run is interrupted, from why the queue aborted its job: at shutdown the run still
 * records what it cut short; for any other reason the job is no longer ours and it writes nothing.
 */
function interruptSignal(context: JobContext): AbortSignal {
  const interrupt = new AbortController();
  const { signal } = context;
  const forward = () =>
    interrupt.abort(
      (signal.reason === 'shutdown' ? 'shutdown' : 'lease-lost') satisfies InterruptReason,
    );
  if (signal.aborted) forward();
  else signal.addEventListener('abort', forward, { once: true });
  return interrupt.signal;
}

/**
 * A worker that runs sagas: a queue worker (`JobWorker`: batched claims, one heartbeat for all
 * leases, batched completions, graceful shutdown) whose handler advances each saga as far as it
 * can go. Any number of workers, in any number of processes, can share one queue; the jobs of
 * one saga run one at a time (their serial key).
 */
export class SagaWorker {
  readonly #options: SagaWorkerOptions;
  readonly #logger: Logger;
  readonly #worker: JobWorker;
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #watch: StreamWatch | undefined;

  constructor(options: SagaWorkerOptions) {
    this.#options = options;
    this.#worker = new JobWorker({
      sql: options.sql,
      queue: SAGA_QUEUE,
      concurrency: options.concurrency ?? 10,
      // A saga job may run long: none is held back from other workers while this one is busy.
      prefetch: 0,
      // Aborted at shutdown, a run records the steps it cut short; handing its job back before
      // it returns would let another worker run the same steps beside it.
      abortWaitMs: Number.POSITIVE_INFINITY,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      handler: (job, context) => this.#runJob(job, context),
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
      ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
      ...(options.workerId === undefined ? {} : { workerId: options.workerId }),
    });
    const { workerId } = this.#worker;
    this.#logger = (options.logger ?? createSilentLogger()).child({ workerId });
    this.#worker.events.on('queue:job:malformed', (failure) =>
      this.#logger.error({ failure }, 'malformed job row'),
    );
  }

  /** Starts claiming jobs. */
  start(): void {
    this.#started ??= this.#start().catch((error: unknown) => {
      this.#logger.error({ err: error }, 'worker failed to start');
    });
  }

  async #start(): Promise<void> {
    this.#watch = await StreamWatch.listen(this.#options.sql, this.#logger);
    await this.#worker.start();
  }

  /**
   * Stops claiming, lets running sagas finish, and returns when every job's state has been
   * written. Sagas still running after `graceMs` are interrupted: they record the steps they cut
   * short, and their jobs go back for the next worker. A step that ignores its abort signal holds
   * the return until it ends. A second call resolves with the first.
   */
  stop(graceMs = 10_000): Promise<void> {
    this.#stopped ??= this.#stop(graceMs);
    return this.#stopped;
  }

  async #stop(graceMs: number): Promise<void> {
    await this.#started;
    await this.#worker.stop(graceMs);
    await this.#watch?.close();
  }

  async #runJob(job: LeasedJob, context: JobContext): Promise<JobResult> {
    const log = context.logger;
    const args = SagaJobArgs.decode(job.args);
    if (E.isLeft(args)) {
      const { path, message } = describeDecodeErrors(args.left);
      log.error({ path, message }, 'saga job args do not decode');
      return {
        _tag: 'JobDiscarded',
        name: JOB_ARGS_DECODE_FAILURE,
        message: `args${path}: ${message}`,
      };
    }
    const outcome = await advanceSaga(
      this.#runnerDeps(),
      args.right.sagaId,
      interruptSignal(context),
    ).catch((error: unknown) => {
      // A throw is a bug of ours or a broken store: the job worker retries it, unlogged.
      log.error({ err: error }, 'saga job crashed');
      throw error;
    });
    return E.isLeft(outcome) ? this.#refuse(outcome.left, log) : this.#settle(outcome.right);
  }

  /**
   * A saga this worker cannot run. A definition it lacks may be another worker's (a rolling
   * deploy), so the job goes back for a later try; a history that does not decode or fold is
   * no worker's to run, so the job is discarded with the reason.
   */
  #refuse(failure: SagaRunFailure, log: Logger): JobResult {
    const recorded = { name: failure._tag, message: describeSagaRunFailure(failure) };
    switch (failure._tag) {
      case 'DefinitionMissingFailure':
      case 'DefinitionChangedFailure':
        log.warn({ failure }, 'saga handed back: its definition is not registered here');
        return {
          _tag: 'JobFailed',
          ...recorded,
          retryAt: this.#after(this.#options.unknownSagaDelayMs ?? 5000),
        };
      default:
        log.error({ failure }, 'saga cannot run');
        return { _tag: 'JobDiscarded', ...recorded };
    }
  }

  #settle(outcome: SagaRunOutcome): JobResult {
    switch (outcome._tag) {
      case 'SagaFinished':
      case 'SagaWaiting':
        return jobDone;
      case 'SagaConflict':
        return {
          _tag: 'JobFailed',
          name: 'StreamConflict',
          message: 'another writer appended to the saga first',
          retryAt: this.#after(this.#options.conflictDelayMs ?? 1000),
        };
      case 'SagaInterrupted':
        // Only an abort interrupts a run, and an aborted job's state is the queue's to write:
        // handed back at shutdown, left alone when the lease was lost.
        return jobDone;
    }
  }

  #after(delayMs: number): Date {
    return new Date((this.#options.clock ?? systemClock).now().getTime() + delayMs);
  }

  #runnerDeps() {
    const options = this.#options;
    return {
      store: options.store,
      registry: options.registry,
      clock: options.clock ?? systemClock,
      ids: options.ids ?? uuidGenerator,
      logger: this.#logger,
      ...(options.notify ? { notify: options.notify } : {}),
      ...(this.#watch ? { watchStream: this.#watch.watch } : {}),
    };
  }
}
