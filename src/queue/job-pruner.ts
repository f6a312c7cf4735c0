import type { Logger } from '../core/logger.js';
import { createSilentLogger } from '../ports/logger.js';
import type { SqlClient } from '../ports/sql.js';
import { pruneJobs } from './maintain-jobs.js';
import { PeriodicTask } from './periodic-task.js';

/** Options of {@link JobPruner}. */
export interface JobPrunerOptions {
  readonly sql: SqlClient;
  /** Keep ended jobs this long after they ended. Default: 7 days. */
  readonly retentionMs?: number;
  /** How often to prune. Default: 60 s. */
  readonly intervalMs?: number;
  /** Jobs deleted by one statement; a round deletes batches until one comes back short. */
  readonly limit?: number;
  /** Told how many jobs each round deleted. */
  readonly onPruned?: (pruned: number) => void;
  /** Default: silent. */
  readonly logger?: Logger;
}

const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_LIMIT = 10_000;

/**
 * Deletes ended jobs (completed, discarded, cancelled) once they are older than the retention
 * period, every `intervalMs`: the queue's counterpart of Oban's pruner. Rows that keep a unique
 * key taken stay (see `pruneJobs`). Any number of pruners may run, one per worker process: each
 * batch takes its rows with `SKIP LOCKED`, so two pruners share the work instead of waiting.
 *
 * @example
 * const pruner = new JobPruner({ sql, retentionMs: 24 * 60 * 60 * 1000 });
 * pruner.start();
 * process.once('SIGTERM', () => void pruner.stop());
 */
export class JobPruner {
  readonly #options: JobPrunerOptions;
  readonly #logger: Logger;
  readonly #rounds: PeriodicTask;

  constructor(options: JobPrunerOptions) {
    const { retentionMs, intervalMs } = options;
    if (retentionMs !== undefined && (!Number.isFinite(retentionMs) || retentionMs < 0)) {
      throw new RangeError(`JobPruner: retentionMs must not be negative, got ${retentionMs}`);
    }
    if (intervalMs !== undefined && (!Number.isFinite(intervalMs) || intervalMs <= 0)) {
      throw new RangeError(`JobPruner: intervalMs must be positive, got ${intervalMs}`);
    }
    this.#options = options;
    this.#logger = (options.logger ?? createSilentLogger()).child({ role: 'pruner' });
    this.#rounds = new PeriodicTask(
      () => this.prune(),
      (error) => this.#logger.warn({ err: error }, 'prune failed'),
    );
  }

  /**
   * Prunes now and then every `intervalMs`; a round still running when the next is due is let
   * be. A round that fails is logged and the next one tries again.
   */
  start(): void {
    this.#rounds.start(this.#options.intervalMs ?? DEFAULT_INTERVAL_MS, { now: true });
  }

  /** Stops pruning; resolves once a round in progress has ended. */
  stop(): Promise<void> {
    return this.#rounds.stop();
  }

  /** One round: deletes batches of ended jobs past retention until a batch comes back short. */
  async prune(): Promise<number> {
    const limit = this.#options.limit ?? DEFAULT_LIMIT;
    const { retentionMs } = this.#options;
    const options = retentionMs === undefined ? { limit } : { limit, retentionMs };
    let total = 0;
    for (;;) {
      const pruned = await pruneJobs(this.#options.sql, options);
      total += pruned;
      if (pruned < limit) break;
    }
    if (total > 0) this.#logger.debug({ pruned: total }, 'jobs pruned');
    this.#options.onPruned?.(total);
    return total;
  }
}
