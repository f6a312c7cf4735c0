import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import type { Logger } from '../../core/logger.js';
import { type Clock, systemClock } from '../../ports/clock.js';
import { createSilentLogger } from '../../ports/logger.js';
import type { SqlClient, SqlExecutor } from '../../ports/sql.js';
import { insertJobs } from '../insert-jobs.js';
import type { Job, NewJob } from '../job.js';
import { decodeJobRow, decodeWrittenJobRow } from '../job-row.js';
import { PeriodicTask } from '../periodic-task.js';
import {
  ADVANCE_CRON_SCHEDULE,
  LOCK_CRON_SCHEDULES,
  RECORD_CRON_LEADER,
  TRY_LEAD_CRON,
} from '../sql/cron.js';
import { DateFromStored, Json, nullable } from '../stored-values.js';
import {
  type CronSchedule,
  cronJob,
  type InvalidCronScheduleFailure,
  listFireTimes,
  parseCronSchedule,
  registerCronSchedules,
} from './cron-schedule.js';

/** Options of {@link CronScheduler}. */
export interface CronSchedulerOptions {
  readonly sql: SqlClient;
  /** Registered (upserted) at {@link CronScheduler.start}. Default: none. */
  readonly schedules?: readonly CronSchedule[];
  /** The first part of the leader id. Default: the host name. */
  readonly nodeName?: string;
  /** The time that decides which ticks are due. Default: the system clock. */
  readonly clock?: Clock;
  /** How often due ticks are looked for. Default: 1000 ms. */
  readonly tickMs?: number;
  /**
   * After an outage, insert at most this many of the latest missed ticks of each schedule.
   * Default: 1 (no backfill: only the latest tick, so a late tick still fires once).
   */
  readonly maxBackfill?: number;
  /** Default: silent. */
  readonly logger?: Logger;
}

/** What one {@link CronScheduler.tick} did. */
export interface CronTick {
  /** Whether this scheduler held the leadership for the tick; a follower inserts nothing. */
  readonly led: boolean;
  /** The jobs inserted, one per (schedule, fire time). */
  readonly inserted: readonly Job[];
}

const LedRow = t.type({ led: t.boolean });
const ScheduleRow = t.type({
  name: t.string,
  expression: t.string,
  timezone: t.string,
  queue: t.string,
  kind: t.string,
  args: Json,
  priority: t.number,
  maxAttempts: t.number,
  lastFireAt: nullable(DateFromStored),
  registeredAt: DateFromStored,
});
type ScheduleRow = t.TypeOf<typeof ScheduleRow>;

/**
 * Inserts the jobs of cron schedules at their fire times. Any number of schedulers may run, on
 * any number of nodes: at each tick one of them leads, by a transaction-scoped advisory lock, and
 * the others skip the tick. Leadership is only an optimisation: each job carries the unique key
 * of its (schedule, fire time), so the database refuses a second job for one tick whoever
 * inserts it (BC-07). The leader id is the node name plus a random id per process, so processes
 * that share a host name are still told apart.
 *
 * Each schedule remembers its last inserted tick; after an outage the leader inserts the ticks
 * missed since then, up to `maxBackfill` per schedule.
 *
 * @example
 * const cron = new CronScheduler({
 *   sql,
 *   schedules: [{ name: 'nightly-report', expression: '0 3 * * *', timezone: 'Europe/Berlin',
 *     queue: 'reports', kind: 'nightly', args: {} }],
 * });
 * await cron.start();
 */
export class CronScheduler {
  /** This scheduler's identity in `rewind_leaders`: node name, process id, random id. */
  readonly leaderId: string;
  readonly #options: CronSchedulerOptions;
  readonly #logger: Logger;
  readonly #ticks: PeriodicTask;

  constructor(options: CronSchedulerOptions) {
    this.#options = options;
    this.leaderId = `${options.nodeName ?? hostname()}:${process.pid}:${randomUUID()}`;
    this.#logger = (options.logger ?? createSilentLogger()).child({ leaderId: this.leaderId });
    this.#ticks = new PeriodicTask(
      () => this.tick(),
      (error) => this.#logger.warn({ err: error }, 'cron tick failed'),
    );
  }

  /** Registers the schedules and starts ticking. Left, starting nothing, for an invalid one. */
  async start(): Promise<E.Either<InvalidCronScheduleFailure, void>> {
    const registered = await registerCronSchedules(
      this.#options.sql,
      this.#options.schedules ?? [],
    );
    if (E.isLeft(registered)) return registered;
    this.#ticks.start(this.#options.tickMs ?? 1000);
    this.#logger.info('cron scheduler started');
    return E.right(undefined);
  }

  /** Stops ticking; resolves after a tick in progress has ended. */
  async stop(): Promise<void> {
    await this.#ticks.stop();
  }

  /**
   * Inserts every tick due at `now` (default: the clock's now) that no scheduler inserted yet,
   * if this scheduler gets the leadership; one transaction.
   */
  tick(now: Date = (this.#options.clock ?? systemClock).now()): Promise<CronTick> {
    return this.#options.sql.transaction(async (tx) => {
      const lock = (await tx.query(TRY_LEAD_CRON)).rows[0];
      if (!lock || !decodeWrittenJobRow(LedRow, lock).led) return { led: false, inserted: [] };
      await tx.query(RECORD_CRON_LEADER, [this.leaderId]);
      const jobs = await this.#collectDueJobs(tx, now);
      const { inserted } = await insertJobs(tx, jobs);
      if (inserted.length > 0) this.#logger.debug({ jobs: inserted.length }, 'cron jobs inserted');
      return { led: true, inserted };
    });
  }

  async #collectDueJobs(tx: SqlExecutor, now: Date): Promise<NewJob[]> {
    const maxBackfill = Math.max(1, this.#options.maxBackfill ?? 1);
    const jobs: NewJob[] = [];
    for (const raw of (await tx.query(LOCK_CRON_SCHEDULES)).rows) {
      const row = decodeJobRow(ScheduleRow, raw);
      if (E.isLeft(row)) {
        this.#logger.error({ failure: row.left }, 'cron schedule row does not decode');
        continue;
      }
      const times = this.#dueTimes(row.right, now, maxBackfill);
      const last = times.at(-1);
      if (!last) continue;
      jobs.push(...times.map((fireAt) => cronJob(row.right, fireAt)));
      await tx.query(ADVANCE_CRON_SCHEDULE, [row.right.name, last.toISOString()]);
    }
    return jobs;
  }

  #dueTimes(schedule: ScheduleRow, now: Date, maxBackfill: number): Date[] {
    const cron = parseCronSchedule(schedule);
    if (E.isLeft(cron)) {
      this.#logger.error({ failure: cron.left }, 'cron schedule cannot be read');
      return [];
    }
    const after = schedule.lastFireAt ?? schedule.registeredAt;
    return listFireTimes(cron.right, after, now, maxBackfill);
  }
}
