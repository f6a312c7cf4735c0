import type { Logger } from '../../core/logger.js';
import type { SqlExecutor } from '../../ports/sql.js';
import { completeJobs } from '../batch-writes.js';
import type { LeasedJob } from '../job.js';

/** The most jobs completed by one statement. */
const MAX_BATCH = 1000;

interface PendingCompletion {
  readonly job: LeasedJob;
  readonly settle: (completed: boolean) => void;
}

/**
 * Completes jobs in batches: the first completion is written at once, and every completion that
 * arrives while a write is in flight joins the next one. Under load that is one statement for
 * many jobs; when idle it adds no delay. Each caller learns whether its job was still held.
 */
export class CompletionBatcher {
  #pending: PendingCompletion[] = [];
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly executor: SqlExecutor,
    private readonly logger: Logger,
  ) {}

  /** Resolves `true` once the job is completed, `false` when the caller no longer held it. */
  complete(job: LeasedJob): Promise<boolean> {
    return new Promise((settle) => {
      this.#pending.push({ job, settle });
      this.#flushing ??= this.#flush().finally(() => {
        this.#flushing = undefined;
      });
    });
  }

  /** Resolves when every completion handed in so far has been written. */
  async drain(): Promise<void> {
    for (let flushing = this.#flushing; flushing !== undefined; flushing = this.#flushing) {
      await flushing;
    }
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_BATCH);
      try {
        const { changed } = await completeJobs(
          this.executor,
          batch.map((entry) => entry.job),
        );
        // By lease, not by id: the run that lost a job and the run that rescued it may both
        // be in one batch.
        const done = new Set(changed);
        for (const entry of batch) entry.settle(done.has(entry.job));
      } catch (error) {
        // The jobs stay executing; their leases run out and the next claim rescues them.
        this.logger.error({ err: error, jobs: batch.length }, 'job completion failed');
        for (const entry of batch) entry.settle(false);
      }
    }
  }
}
