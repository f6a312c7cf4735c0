import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';

import * as E from 'fp-ts/lib/Either.js';

import { SAGA_QUEUE, SagaJobArgs } from '../../projections/job-feeder.js';
import { describeDecodeErrors } from '../core/decode-failure.js';
import type { Logger } from '../core/logger.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { EventStore } from '../ports/event-store.js';
import { type IdGenerator, uuidGenerator } from '../ports/ids.js';
import { createSilentLogger } from '../ports/logger.js';
import type { SqlClient } from '../ports/sql.js';
import { claimJobs } from '../queue/claim-jobs.js';
import { completeJob, failJob } from '../queue/finish-job.js';
import type { LeasedJob } from '../queue/job.js';
import { extendLease } from '../queue/lease.js';
import { JOBS_CHANNEL } from '../queue/sql/insert-jobs.js';
import { NotificationWakeup } from '../queue/wakeup.js';
import { describeSagaRunFailure } from './describe-failure.js';
import type { SagaNotification } from './saga-notification.js';
import type { SagaRegistry } from './saga-registry.js';
import {
  advanceSaga,
  type InterruptReason,
  type SagaRunFailure,
  type SagaRunOutcome,
} from './saga-runner.js';
import { StreamWatch } from './stream-watch.js';

/** The abort signal of one job's run, and whether it fired because the lease was lost. */
class LeaseWatch extends AbortController {
  lost = false;

  markLost(): void {
    this.lost = true;
    this.abort('lease-lost' satisfies InterruptReason);
  }
}

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
 * A worker that runs sagas: it claims saga jobs from the queue, advances each saga as far as it
 * can go, keeps the job's lease alive while it runs, and completes the job. Any number of
 * workers, in any number of processes, can share one queue.
 */
export class SagaWorker {
  readonly #options: SagaWorkerOptions;
  readonly #logger: Logger;
  readonly #workerId: string;
  readonly #running = new Set<Promise<void>>();
  readonly #stopping = new AbortController();
  readonly #interruptAll = new AbortController();
  #loop: Promise<void> | undefined;
  #watch: StreamWatch | undefined;

  constructor(options: SagaWorkerOptions) {
    this.#options = options;
    this.#workerId =
      options.workerId ??
      `${hostname()}:${process.pid}:${(options.ids ?? uuidGenerator).newId().slice(0, 8)}`;
    this.#logger = (options.logger ?? createSilentLogger()).child({ workerId: this.#workerId });
    // Every running saga listens on these two signals: one listener per concurrent job.
    setMaxListeners(0, this.#stopping.signal, this.#interruptAll.signal);
  }

  /** Starts claiming jobs. */
  start(): void {
    if (this.#loop !== undefined) return;
    this.#logger.info('worker started');
    this.#loop = this.#runLoop().catch((error: unknown) => {
      this.#logger.error({ err: error }, 'worker loop crashed');
    });
  }

  /**
   * Stops claiming, lets running sagas finish, and returns when every job's state has been
   * written. Sagas still running after `graceMs` are interrupted: what they did not record is
   * retried by the next worker.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    const drained = Promise.allSettled([...this.#running]);
    const timer = setTimeout(
      () => this.#interruptAll.abort('shutdown' satisfies InterruptReason),
      graceMs,
    );
    await drained;
    clearTimeout(timer);
    await this.#watch?.close();
    this.#logger.info('worker stopped');
  }

  async #runLoop(): Promise<void> {
    const { sql } = this.#options;
    const concurrency = this.#options.concurrency ?? 10;
    const pollMs = this.#options.pollMs ?? 1000;
    this.#watch = await StreamWatch.listen(sql, this.#logger);
    const wakeup = await NotificationWakeup.listen(
      sql,
      JOBS_CHANNEL,
      (queue) => queue === SAGA_QUEUE,
    );
    try {
      while (!this.#stopping.signal.aborted) {
        const free = concurrency - this.#running.size;
        const claimed = free > 0 ? await this.#claimSafely(free) : 0;
        if (claimed === free && free > 0) continue;
        await Promise.race([
          wakeup.wait({ timeoutMs: pollMs, signal: this.#stopping.signal }),
          ...this.#running,
        ]);
      }
    } finally {
      await wakeup.close();
    }
  }

  /** A claim that fails (the database away, say) is logged; the loop tries again on its poll. */
  async #claimSafely(limit: number): Promise<number> {
    try {
      return await this.#claim(limit);
    } catch (error) {
      this.#logger.error({ err: error }, 'claim failed; trying again');
      return 0;
    }
  }

  async #claim(limit: number): Promise<number> {
    const { jobs, malformed } = await claimJobs(this.#options.sql, {
      queue: SAGA_QUEUE,
      workerId: this.#workerId,
      limit,
      leaseMs: this.#options.leaseMs ?? 30_000,
      logger: this.#logger,
    });
    for (const failure of malformed) this.#logger.error({ failure }, 'malformed job row');
    for (const job of jobs) {
      const running: Promise<void> = this.#runJob(job)
        .catch((error: unknown) => {
          // Only the job's own state write can fail here; its lease runs out and it is rescued.
          this.#logger.error({ err: error, jobId: job.id.toString() }, 'job state write failed');
        })
        .finally(() => this.#running.delete(running));
      this.#running.add(running);
    }
    return jobs.length + malformed.length;
  }

  async #runJob(job: LeasedJob): Promise<void> {
    const log = this.#logger.child({ jobId: job.id.toString(), attempt: job.attempt });
    const args = SagaJobArgs.decode(job.args);
    if (E.isLeft(args)) {
      const { path, message } = describeDecodeErrors(args.left);
      log.error({ path, message }, 'saga job args do not decode');
      await failJob(
        this.#options.sql,
        job,
        { name: 'JobArgsDecodeFailure', message: `args${path}: ${message}` },
        { discard: true },
      );
      return;
    }

    const lease = new LeaseWatch();
    const stop = () => lease.abort('shutdown' satisfies InterruptReason);
    this.#interruptAll.signal.addEventListener('abort', stop, { once: true });
    const heartbeat = this.#startHeartbeat(job, lease);
    try {
      const outcome = await advanceSaga(this.#runnerDeps(), args.right.sagaId, lease.signal);
      clearInterval(heartbeat);
      if (E.isLeft(outcome)) {
        await this.#refuse(job, outcome.left, log);
        return;
      }
      await this.#settle(job, outcome.right, lease.lost);
    } catch (error) {
      clearInterval(heartbeat);
      log.error({ err: error }, 'saga job crashed');
      const failure = error instanceof Error ? error : new Error(String(error));
      await failJob(this.#options.sql, job, { name: failure.name, message: failure.message });
    } finally {
      this.#interruptAll.signal.removeEventListener('abort', stop);
    }
  }

  /**
   * A saga this worker cannot run. A definition it lacks may be another worker's (a rolling
   * deploy), so the job goes back for a later try; a history that does not decode or fold is
   * no worker's to run, so the job is discarded with the reason.
   */
  async #refuse(job: LeasedJob, failure: SagaRunFailure, log: Logger): Promise<void> {
    const recorded = { name: failure._tag, message: describeSagaRunFailure(failure) };
    switch (failure._tag) {
      case 'DefinitionMissingFailure':
      case 'DefinitionChangedFailure': {
        log.warn({ failure }, 'saga handed back: its definition is not registered here');
        const delay = this.#options.unknownSagaDelayMs ?? 5000;
        const retryAt = new Date((this.#options.clock ?? systemClock).now().getTime() + delay);
        await failJob(this.#options.sql, job, recorded, { retryAt });
        return;
      }
      default:
        log.error({ failure }, 'saga cannot run');
        await failJob(this.#options.sql, job, recorded, { discard: true });
    }
  }

  async #settle(job: LeasedJob, outcome: SagaRunOutcome, leaseLost: boolean): Promise<void> {
    const { sql } = this.#options;
    switch (outcome._tag) {
      case 'SagaFinished':
      case 'SagaWaiting':
        await completeJob(sql, job);
        return;
      case 'SagaConflict': {
        const delay = this.#options.conflictDelayMs ?? 1000;
        const retryAt = new Date((this.#options.clock ?? systemClock).now().getTime() + delay);
        const failure = {
          name: 'StreamConflict',
          message: 'another writer appended to the saga first',
        };
        await failJob(sql, job, failure, { retryAt });
        return;
      }
      case 'SagaInterrupted':
        // A lost lease means another worker holds the job now: write nothing. A shutdown hands
        // the job back at once so the next worker does not wait for the lease to run out.
        if (!leaseLost) {
          const failure = { name: 'WorkerShutdown', message: 'the worker stopped during the saga' };
          await failJob(sql, job, failure, { retryAt: new Date(0) });
        }
        return;
    }
  }

  #startHeartbeat(job: LeasedJob, lease: LeaseWatch): NodeJS.Timeout {
    const leaseMs = this.#options.leaseMs ?? 30_000;
    return setInterval(() => {
      extendLease(this.#options.sql, job, leaseMs).then(
        (extended) => {
          if (E.isLeft(extended)) lease.markLost();
        },
        (error: unknown) =>
          this.#logger.warn({ err: error, jobId: job.id.toString() }, 'heartbeat failed'),
      );
    }, leaseMs / 3);
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
