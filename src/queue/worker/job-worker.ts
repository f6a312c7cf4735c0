import { hostname } from 'node:os';

import * as E from 'fp-ts/lib/Either.js';

import type { Logger } from '../../core/logger.js';
import { createSilentLogger } from '../../ports/logger.js';
import type { SqlClient } from '../../ports/sql.js';
import { extendLeases, unclaimJobs } from '../batch-writes.js';
import { claimJobs } from '../claim-jobs.js';
import { claimJobsWithGlobalLimit } from '../claim-limited.js';
import type { ClaimedJobs } from '../claimed-jobs.js';
import type { FailJobOptions } from '../finish-job.js';
import { JobId, type LeasedJob } from '../job.js';
import { JOBS_CHANNEL } from '../sql/insert-jobs.js';
import { JOB_CANCEL_CHANNEL } from '../sql/operator-writes.js';
import { NotificationWakeup, sleep } from '../wakeup.js';
import { ClaimPacer, type HeldJobs } from './claim-pacer.js';
import { CompletionBatcher } from './completion-batcher.js';
import type { JobHandler } from './define-worker.js';
import { JobEvents, type JobRunEnd } from './job-events.js';
import {
  describeThrown,
  type JobResult,
  jobDone,
  releaseJob,
  writeJobResult,
} from './job-result.js';
import { PrefetchTarget } from './prefetch-target.js';
import {
  type AbortReason,
  abortRunningJob,
  createContext,
  type RunningJob,
} from './running-job.js';

/** Options of {@link JobWorker}. */
export interface JobWorkerOptions {
  readonly sql: SqlClient;
  /** The queue it claims from. */
  readonly queue: string;
  /** Runs each job; see `defineWorker` and `dispatchJobs` for typed, per-kind handlers. */
  readonly handler: JobHandler;
  /** Jobs whose handlers run at once in this worker. Default: 10. */
  readonly concurrency?: number;
  /**
   * Jobs claimed beyond the free slots and held here, leased and renewed, until a slot frees:
   * one claim then serves many jobs, which matters for short jobs, at the cost of holding them
   * from other workers meanwhile; a job of higher priority inserted after them waits behind
   * them. Handed back unstarted at `stop()`. `0` turns it off. Default: adapts to the jobs (see
   * `PrefetchTarget`): what the slots finish in two claim round trips, so none while handlers
   * take longer than a round trip and up to 500 for jobs that take almost no time; none with
   * `globalLimit`, since held jobs count against it.
   */
  readonly prefetch?: number;
  /** Jobs of the queue executing at once across all workers and nodes. Default: no limit. */
  readonly globalLimit?: number;
  /** How long a claim holds without a heartbeat. Default: 30 s. */
  readonly leaseMs?: number;
  /** How often the leases of running jobs are renewed, all in one statement. Default: leaseMs/3. */
  readonly heartbeatMs?: number;
  /**
   * At `stop()`, how long handlers aborted at the end of the grace period have to return before
   * their jobs are handed back regardless. `Infinity` waits as long as they run: the saga
   * worker's choice, since a saga run goes on appending to its stream and must not outlive its
   * job. Default: 1 s.
   */
  readonly abortWaitMs?: number;
  /** The polling fallback: claim at least this often when no notification arrives. Default: 1 s. */
  readonly pollMs?: number;
  /** Backoff of failed attempts. Default: that of `failJob` (1 s doubling to 60 s, 20% jitter). */
  readonly backoff?: FailJobOptions['backoff'];
  /** Kept on claimed jobs. Default: host name, process id and a random suffix. */
  readonly workerId?: string;
  /** Default: silent. */
  readonly logger?: Logger;
}

interface BufferedJob {
  readonly job: LeasedJob;
  /** When the last claim or renewal of its lease was requested (`performance.now()`). */
  renewedAt: number;
}

/**
 * A worker for one queue: claims jobs in batches (`FOR UPDATE SKIP LOCKED`), runs up to
 * `concurrency` handlers at once, renews all their leases in one heartbeat statement, and
 * completes finished jobs in batches. Wakes on LISTEN/NOTIFY and polls every `pollMs` as well,
 * so a dead listener delays nothing beyond the poll interval (BC-05).
 *
 * `stop(graceMs)` stops fetching, lets running handlers finish within the grace period, aborts
 * the rest and hands their jobs back as runnable, and returns only after every state write; the
 * caller closes the pool after that (BC-25).
 *
 * @example
 * const worker = new JobWorker({ sql, queue: 'mail', handler: dispatchJobs([sendEmail]) });
 * worker.events.on('queue:job:exception', ({ job, error }) => report(job.id, error));
 * worker.start();
 * process.once('SIGTERM', () => void worker.stop(10_000).then(() => sql.close()));
 */
export class JobWorker {
  /** Lifecycle notifications: `queue:job:start`, `queue:job:stop`, `queue:job:exception`. */
  readonly events: JobEvents;
  /** Who this worker is, as kept in `attempted_by`. */
  readonly workerId: string;
  readonly #options: JobWorkerOptions;
  readonly #logger: Logger;
  /**
   * The runs whose state is not written yet. A set, not a map by job id: a run that lost its
   * lease (its handler ignoring the abort) and the run of this worker that rescued the job can
   * be here together, and each keeps its own heartbeat, abort and state write.
   */
  readonly #running = new Set<RunningJob>();
  #buffer: BufferedJob[] = [];
  #handlersActive = 0;
  readonly #stopping = new AbortController();
  readonly #completions: CompletionBatcher;
  readonly #prefetch: PrefetchTarget;
  readonly #pacer = new ClaimPacer();
  /** Wakes the loop: a slot was freed or a claim came back. */
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #beating = false;
  #unlistenCancels: (() => Promise<void>) | undefined;

  constructor(options: JobWorkerOptions) {
    this.#options = options;
    this.workerId =
      options.workerId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
    this.#logger = (options.logger ?? createSilentLogger()).child({
      workerId: this.workerId,
      queue: options.queue,
    });
    this.events = new JobEvents((error) =>
      this.#logger.warn({ err: error }, 'job event listener threw'),
    );
    this.#completions = new CompletionBatcher(options.sql, this.#logger);
    // Held jobs count against a global limit, so they would keep other workers' slots idle.
    const adaptive = options.globalLimit === undefined ? undefined : 0;
    this.#prefetch = new PrefetchTarget(this.#concurrency, options.prefetch ?? adaptive);
  }

  get #concurrency(): number {
    return this.#options.concurrency ?? 10;
  }

  get #leaseMs(): number {
    return this.#options.leaseMs ?? 30_000;
  }

  /** Starts claiming jobs; resolves once the worker listens for wake-ups and cancels. */
  async start(): Promise<void> {
    if (this.#loop !== undefined) return;
    const { sql, queue } = this.#options;
    const wakeup = await NotificationWakeup.listen(sql, JOBS_CHANNEL, (name) => name === queue);
    this.#unlistenCancels = await sql.listen(JOB_CANCEL_CHANNEL, (payload) => {
      const id = JobId.decode(payload);
      if (E.isRight(id)) this.#abort(id.right, 'cancelled');
    });
    const heartbeatMs = this.#options.heartbeatMs ?? this.#leaseMs / 3;
    this.#heartbeat = setInterval(() => this.#beat(), heartbeatMs);
    this.#sweep = setInterval(() => this.#abortExpired(), this.#sweepMs);
    this.#logger.info('worker started');
    this.#loop = this.#runLoop(wakeup)
      .catch((error: unknown) => this.#logger.error({ err: error }, 'worker loop crashed'))
      .finally(() => wakeup.close());
  }

  /**
   * Stops fetching, waits up to `graceMs` for running handlers, then aborts the others and hands
   * their jobs back as runnable (counted as lost attempts, not failures): each as soon as its
   * handler returns, at the latest after `abortWaitMs`. Resolves when every job state has been
   * written; only then may the pool be closed.
   */
  stop(graceMs = 10_000): Promise<void> {
    // A second call, even a concurrent one, resolves with the first: when all is written.
    this.#stopped ??= this.#stop(graceMs);
    return this.#stopped;
  }

  async #stop(graceMs: number): Promise<void> {
    if (this.#loop === undefined) return;
    this.#stopping.abort();
    this.#wake?.();
    await this.#loop;
    await this.#unclaimBuffered();

    const settled = Promise.allSettled([...this.#running.values()].map((entry) => entry.done));
    const graceOver = new AbortController();
    const timer = sleep(graceMs, graceOver.signal);
    await Promise.race([settled, timer]);
    graceOver.abort();
    await this.#releaseUnfinished();
    await Promise.allSettled(
      [...this.#running.values()].filter((entry) => entry.handlerReturned).map((e) => e.done),
    );
    await this.#completions.drain();

    clearInterval(this.#heartbeat);
    clearInterval(this.#sweep);
    await this.#unlistenCancels?.();
    this.#logger.info('worker stopped');
  }

  async #runLoop(wakeup: NotificationWakeup): Promise<void> {
    const pollMs = this.#options.pollMs ?? 1000;
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      this.#startBuffered();
      const limit = this.#pacer.nextLimit(this.#held(), performance.now());
      if (limit > 0) this.#sendClaim(limit, pollMs);
      else await this.#waitForWork(wakeup);
    }
    // Claims still on their way put their jobs in the buffer, which stop() then hands back.
    while (this.#pacer.inFlight > 0) await this.#nextWake();
  }

  #held(): HeldJobs {
    return {
      concurrency: this.#concurrency,
      prefetch: this.#prefetch.jobs,
      running: this.#handlersActive,
      buffered: this.#buffer.length,
    };
  }

  #sendClaim(limit: number, pollMs: number): void {
    this.#pacer.sent(limit);
    void this.#claim(limit).then((claimed) => {
      this.#pacer.returned(limit, claimed, performance.now(), pollMs);
      this.#wake?.();
    });
  }

  /** Resolves at the next freed slot or returned claim. */
  #nextWake(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /**
   * Waits for a freed slot or a returned claim, or, after a claim found the queue empty, also for
   * a notification or the end of the quiet spell (the polling fallback). The losers of that race
   * are cancelled, so no timer or listener piles up and a stale wait cannot swallow the next
   * notification.
   */
  async #waitForWork(wakeup: NotificationWakeup): Promise<void> {
    const now = performance.now();
    // Outside a quiet spell only a freed slot or a returned claim can change what to do next; a
    // notification meanwhile is kept by the wakeup and ends the next quiet spell at once. This
    // wait comes once per job on a busy worker, so it sets no timer.
    if (!this.#pacer.isQuiet(now)) return this.#nextWake();
    const round = new AbortController();
    const signal = AbortSignal.any([this.#stopping.signal, round.signal]);
    const news = wakeup.wait({ timeoutMs: this.#pacer.quietLeft(now), signal }).then((reason) => {
      if (reason !== 'aborted') this.#pacer.wake();
    });
    await Promise.race([this.#nextWake(), news]);
    round.abort();
    await news;
  }

  /** Starts buffered jobs while slots are free, dropping those whose lease may have run out. */
  #startBuffered(): void {
    // Once stopping, jobs still buffered or arriving from a claim are handed back unstarted.
    if (this.#stopping.signal.aborted) return;
    while (this.#handlersActive < this.#concurrency) {
      const next = this.#buffer.shift();
      if (!next) return;
      // Its lease may have expired and the job been rescued elsewhere: never run it twice.
      if (performance.now() - next.renewedAt >= this.#leaseMs) continue;
      this.#startJob(next.job, next.renewedAt);
    }
  }

  /** Claims up to `limit` jobs and starts them; the number of rows claimed, or none on error. */
  async #claim(limit: number): Promise<number | undefined> {
    const { sql, queue, globalLimit } = this.#options;
    const options = {
      queue,
      workerId: this.workerId,
      limit,
      leaseMs: this.#leaseMs,
      logger: this.#logger,
    };
    let claimed: ClaimedJobs;
    const requestedAt = performance.now();
    try {
      claimed =
        globalLimit === undefined
          ? await claimJobs(sql, options)
          : await claimJobsWithGlobalLimit(sql, { ...options, globalLimit });
    } catch (error) {
      this.#logger.warn({ err: error }, 'claim failed');
      return undefined;
    }
    this.#prefetch.recordClaim(performance.now() - requestedAt);
    for (const failure of claimed.malformed) this.events.emit('queue:job:malformed', failure);
    for (const job of claimed.jobs) this.#buffer.push({ job, renewedAt: requestedAt });
    this.#startBuffered();
    return claimed.jobs.length + claimed.malformed.length;
  }

  #startJob(job: LeasedJob, claimedAt: number): void {
    const entry: RunningJob = {
      job,
      controller: undefined,
      reason: undefined,
      handlerReturned: false,
      done: Promise.resolve(),
      renewedAt: claimedAt,
    };
    this.#running.add(entry);
    this.#handlersActive++;
    entry.done = this.#runJob(entry);
  }

  async #runJob(entry: RunningJob): Promise<void> {
    const { job } = entry;
    const context = createContext(entry, this.#logger);
    if (this.events.has('queue:job:start')) {
      this.events.emit('queue:job:start', { job, workerId: this.workerId });
    }
    const startedAt = performance.now();

    let result: JobResult;
    let thrown: { error: unknown } | undefined;
    try {
      result = (await this.#options.handler(job, context)) ?? jobDone;
    } catch (error) {
      thrown = { error };
      result = { _tag: 'JobFailed', ...describeThrown(error) };
    }
    entry.handlerReturned = true;
    this.#prefetch.recordRun(performance.now() - startedAt);
    // The slot is free once the handler returns; the state write goes on beside the next jobs.
    this.#handlersActive--;
    this.#startBuffered();
    this.#wake?.();

    const failure = thrown ?? (result._tag === 'JobFailed' ? { error: result } : undefined);
    try {
      const end = await this.#settle(entry, result, () => context.logger);
      this.#reportEnd(job, end, failure, startedAt);
    } finally {
      this.#running.delete(entry);
    }
  }

  #reportEnd(
    job: LeasedJob,
    end: JobRunEnd,
    failure: { error: unknown } | undefined,
    startedAt: number,
  ): void {
    const durationMs = performance.now() - startedAt;
    if (failure && this.events.has('queue:job:exception')) {
      this.events.emit('queue:job:exception', { job, end, error: failure.error, durationMs });
    }
    if (this.events.has('queue:job:stop')) {
      this.events.emit('queue:job:stop', { job, end, durationMs });
    }
  }

  async #settle(entry: RunningJob, result: JobResult, logger: () => Logger): Promise<JobRunEnd> {
    // Someone else owns the job's state now (an operator who cancelled it, a worker that
    // rescued it), or our own shutdown hands it back whatever the handler said.
    switch (entry.reason) {
      case 'lost':
        return 'lost';
      case 'cancelled':
        return 'cancelled';
      case 'shutdown':
        return this.#release(entry);
      case undefined:
        break;
    }
    try {
      if (result._tag === 'JobDone') {
        return (await this.#completions.complete(entry.job)) ? 'completed' : 'lost';
      }
      const options = this.#options.backoff ? { backoff: this.#options.backoff } : {};
      return await writeJobResult(this.#options.sql, entry.job, result, options);
    } catch (error) {
      // The job stays executing; its lease runs out and the next claim rescues it.
      logger().error({ err: error }, 'job state write failed');
      return 'lost';
    }
  }

  /** Aborts every run of job `id`: an operator's cancel is for the job, whichever run has it. */
  #abort(id: JobId, reason: AbortReason): void {
    for (const entry of this.#running) if (entry.job.id === id) abortRunningJob(entry, reason);
  }

  get #sweepMs(): number {
    return Math.max(10, this.#leaseMs / 20);
  }

  // Measured from this side, from when the claim or renewal was requested, and one sweep early,
  // so the abort comes before the database's lease ends: after that, another worker may rescue
  // the job, and the handler must have stopped.
  #abortExpired(): void {
    const now = performance.now();
    for (const entry of this.#running.values()) {
      if (entry.handlerReturned || entry.reason !== undefined) continue;
      if (now - entry.renewedAt >= this.#leaseMs - this.#sweepMs) {
        this.#abort(entry.job.id, 'lost');
      }
    }
  }

  #beat(): void {
    if (this.#beating) return;
    const held = [...this.#running.values()].filter((entry) => entry.reason === undefined);
    const buffered = [...this.#buffer];
    if (held.length === 0 && buffered.length === 0) return;
    this.#beating = true;
    // By lease, not by id: two runs of one job may be held, and only one of them still holds it.
    const byJob = new Map<LeasedJob, { renewedAt: number }>();
    for (const entry of [...held, ...buffered]) byJob.set(entry.job, entry);
    const requestedAt = performance.now();
    extendLeases(this.#options.sql, [...byJob.keys()], this.#leaseMs)
      .then(
        ({ changed, lost }) => {
          for (const job of changed) {
            const entry = byJob.get(job);
            if (entry) entry.renewedAt = requestedAt;
          }
          const gone = new Set(lost);
          this.#buffer = this.#buffer.filter((entry) => !gone.has(entry.job));
          for (const entry of held) if (gone.has(entry.job)) abortRunningJob(entry, 'lost');
        },
        (error: unknown) => this.#logger.warn({ err: error }, 'heartbeat failed'),
      )
      .finally(() => {
        this.#beating = false;
      });
  }

  async #unclaimBuffered(): Promise<void> {
    const buffered = this.#buffer;
    this.#buffer = [];
    if (buffered.length === 0) return;
    try {
      await unclaimJobs(
        this.#options.sql,
        buffered.map((entry) => entry.job),
      );
    } catch (error) {
      // Their leases run out and the next claim rescues them.
      this.#logger.warn({ err: error, jobs: buffered.length }, 'unclaim of prefetched jobs failed');
    }
  }

  /**
   * Aborts the handlers still running after the grace period and gives them `abortWaitMs` to
   * return: one that does hands its job back itself (see #settle) after whatever it records on
   * its way out, such as a saga's interrupted step. The jobs of the others are handed back now;
   * should such a handler return later, its own hand-back finds the job gone and writes nothing.
   */
  async #releaseUnfinished(): Promise<void> {
    const unfinished = [...this.#running].filter(
      (entry) => !entry.handlerReturned && entry.reason === undefined,
    );
    if (unfinished.length === 0) return;
    for (const entry of unfinished) abortRunningJob(entry, 'shutdown');
    const returned = Promise.allSettled(unfinished.map((entry) => entry.done));
    const abortWaitMs = this.#options.abortWaitMs ?? 1000;
    const waitOver = new AbortController();
    // A timer cannot hold Infinity (Node fires it at once): waiting for ever needs none.
    await (Number.isFinite(abortWaitMs)
      ? Promise.race([returned, sleep(abortWaitMs, waitOver.signal)])
      : returned);
    waitOver.abort();
    await Promise.all(
      unfinished.filter((entry) => !entry.handlerReturned).map((entry) => this.#release(entry)),
    );
  }

  /** Hands a held job back as runnable, its attempt counted as lost (BC-25). */
  async #release(entry: RunningJob): Promise<JobRunEnd> {
    const jobId = entry.job.id.toString();
    try {
      const released = await releaseJob(this.#options.sql, entry.job, this.workerId);
      if (E.isLeft(released)) return 'lost';
      this.#logger.warn({ jobId }, 'job released at shutdown');
      return 'released';
    } catch (error) {
      this.#logger.error({ err: error, jobId }, 'job release failed');
      return 'lost';
    }
  }
}
