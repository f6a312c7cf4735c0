import { Cron } from 'croner';
import * as E from 'fp-ts/lib/Either.js';

import type { SqlExecutor } from '../../ports/sql.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_PRIORITY, type NewJob } from '../job.js';
import { UPSERT_CRON_SCHEDULE } from '../sql/cron.js';
import type { Json } from '../stored-values.js';

/** A job to insert at every fire time of a cron expression. */
export interface CronSchedule {
  /** Unique name; registering the same name again updates the schedule. */
  readonly name: string;
  /**
   * A cron expression as croner reads it: five fields (minute first) or six (second first), or
   * a nickname such as `@hourly`.
   */
  readonly expression: string;
  /** IANA time zone the expression is read in, such as `Europe/Berlin`. Default: `UTC`. */
  readonly timezone?: string;
  readonly queue: string;
  readonly kind: string;
  /** Default: `{}`. */
  readonly args?: Json;
  /** Default: {@link DEFAULT_PRIORITY}. */
  readonly priority?: number;
  /** Default: {@link DEFAULT_MAX_ATTEMPTS}. */
  readonly maxAttempts?: number;
}

/** A cron expression or time zone that croner refuses. */
export interface InvalidCronScheduleFailure {
  readonly _tag: 'InvalidCronScheduleFailure';
  readonly name: string;
  readonly message: string;
}

/** Parses a schedule's expression in its time zone, or says why it cannot be read. */
export function parseCronSchedule(
  schedule: Pick<CronSchedule, 'name' | 'expression' | 'timezone'>,
): E.Either<InvalidCronScheduleFailure, Cron> {
  try {
    return E.right(
      new Cron(schedule.expression, { timezone: schedule.timezone ?? 'UTC', paused: true }),
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return E.left({ _tag: 'InvalidCronScheduleFailure', name: schedule.name, message });
  }
}

/**
 * The fire times of `cron` after `after` and no later than `until`, oldest first, at most the
 * latest `max` of them. Time zones and daylight saving time are croner's: a local time skipped by
 * a spring-forward fires once, at the first valid instant after it; one repeated by a fall-back
 * fires once.
 */
export function listFireTimes(cron: Cron, after: Date, until: Date, max: number): Date[] {
  const times: Date[] = [];
  for (let next = cron.nextRun(after); next && next <= until; next = cron.nextRun(next)) {
    times.push(next);
    if (times.length > max) times.shift();
  }
  return times;
}

/**
 * The unique key of the job of one (schedule, fire time): the database refuses a second job
 * for the same tick whoever inserts it (BC-07).
 */
export function cronJobKey(name: string, fireAt: Date): string {
  return `cron:${name}:${fireAt.toISOString()}`;
}

/** The job of one tick of `schedule`, runnable from its fire time. */
export function cronJob(schedule: CronSchedule, fireAt: Date): NewJob {
  return {
    queue: schedule.queue,
    kind: schedule.kind,
    args: schedule.args ?? {},
    priority: schedule.priority ?? DEFAULT_PRIORITY,
    maxAttempts: schedule.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    scheduledAt: fireAt,
    uniqueKey: cronJobKey(schedule.name, fireAt),
  };
}

/**
 * Registers schedules: an upsert on each name, so every node may register the same schedules at
 * boot and re-registering changes nothing but what was edited (BC-07). The time of the last tick
 * inserted is kept. Left, registering nothing, when an expression or time zone is invalid.
 */
export async function registerCronSchedules(
  executor: SqlExecutor,
  schedules: readonly CronSchedule[],
): Promise<E.Either<InvalidCronScheduleFailure, void>> {
  for (const schedule of schedules) {
    const parsed = parseCronSchedule(schedule);
    if (E.isLeft(parsed)) return parsed;
  }
  for (const schedule of schedules) {
    await executor.query(UPSERT_CRON_SCHEDULE, [
      schedule.name,
      schedule.expression,
      schedule.timezone ?? 'UTC',
      schedule.queue,
      schedule.kind,
      JSON.stringify(schedule.args ?? {}),
      schedule.priority ?? DEFAULT_PRIORITY,
      schedule.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    ]);
  }
  return E.right(undefined);
}
