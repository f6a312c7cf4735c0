/**
 * Deletes up to $2 jobs that ended (completed, discarded, cancelled) more than $1 milliseconds
 * ago, oldest first, and returns how many.
 *
 * Jobs with a `unique_key` are kept: that key must stay taken for ever, or replaying the job
 * feeder projection would insert their jobs again. Their rows are the tombstones of their keys.
 * Cron jobs (`cron:` keys) are the exception: a scheduler only inserts ticks after its
 * schedule's `last_fire_at`, so an ended tick older than that can never be inserted again.
 */
export const PRUNE_JOBS = `
WITH doomed AS (
  SELECT id FROM rewind_jobs
  WHERE state IN ('completed', 'discarded', 'cancelled')
    AND (unique_key IS NULL OR (unique_key LIKE 'cron:%' AND EXISTS (
      SELECT 1 FROM rewind_cron_schedules AS schedule
      WHERE starts_with(rewind_jobs.unique_key, 'cron:' || schedule.name || ':')
        AND rewind_jobs.scheduled_at <= schedule.last_fire_at
    )))
    AND COALESCE(completed_at, discarded_at, cancelled_at)
      < now() - make_interval(secs => $1::double precision / 1000)
  ORDER BY COALESCE(completed_at, discarded_at, cancelled_at)
  LIMIT $2
  FOR UPDATE SKIP LOCKED
),
deleted AS (DELETE FROM rewind_jobs WHERE id IN (SELECT id FROM doomed) RETURNING 1)
SELECT count(*)::int AS pruned FROM deleted`;

/**
 * The jobs that nothing will ever claim although they have not ended: the invariant "no job is
 * unlocked, non-terminal and unclaimable" (BC-01, BC-02) holds when this returns no row.
 *
 * - runnable states whose handler failures already reached max_attempts (a claim would run a
 *   job that the policy says is done);
 * - executing jobs without a lease (the check constraint forbids them; listed for completeness).
 *
 * Executing jobs with an expired lease are not stranded: the next claim of their queue rescues
 * them.
 */
export const FIND_STRANDED_JOBS = `
SELECT id::text AS id, queue, state
FROM rewind_jobs
WHERE (state IN ('available', 'scheduled', 'retryable')
    AND attempt - lost_attempts - snoozes >= max_attempts)
  OR (state = 'executing' AND (lease_expires_at IS NULL OR lease_token IS NULL))
ORDER BY id
LIMIT 100`;

/**
 * Jobs of each queue by state: the depth that `rewind jobs` prints. `due` counts the available,
 * scheduled and retryable jobs whose time has come.
 */
export const COUNT_JOBS = `
SELECT queue, state, count(*)::int AS count,
  count(*) FILTER (
    WHERE scheduled_at <= now() AND state IN ('available', 'scheduled', 'retryable')
  )::int
    AS due
FROM rewind_jobs
GROUP BY queue, state
ORDER BY queue, state`;
