import { JOB_LEASE_EXPIRED } from '../job.js';
import { JOB_COLUMNS_WITH_JSON_TIMES } from './job-columns.js';

/**
 * Claims up to $2 jobs of queue $1 for worker $3 with a lease of $4 milliseconds.
 *
 * Two kinds of candidates, each locked with `SKIP LOCKED` so concurrent claimers pass each
 * other's rows instead of waiting:
 * - due: available, scheduled or retryable with scheduled_at passed. An available job's
 *   scheduled_at is never in the future, so one condition covers all three and the walk follows
 *   the index `rewind_jobs_runnable` in claim order, stopping after $2 rows.
 * - expired: executing with an expired lease, to rescue.
 * The first $2 of both, in priority, scheduled_at, id order, are claimed. Candidates beyond those
 * stay locked only until the statement ends. `MATERIALIZED` makes each list be computed once, so
 * the limits hold. Times come from the database's `now()`, so workers on several machines agree
 * on what is due and what has expired.
 *
 * Jobs with a serial key are claimed one at a time: none while another job of the key executes,
 * and at most one per key in a claim; the index `rewind_jobs_serial_executing` turns a race of
 * two claimers into a unique violation, which {@link claimJobs} retries.
 *
 * A rescue records the lost attempt in `errors` and in `lost_attempts` (see job.ts).
 *
 * The claim commits without waiting for its WAL to reach the disk (`synchronous_commit` off for
 * this transaction alone), which takes the flush off the path from insert to handler. A claim
 * that a database crash loses leaves its jobs as they were before it, runnable or executing under
 * the lease they had, so they are claimed or rescued again: a job runs again after a crash, which
 * at-least-once already allows, and nothing is lost. Every other write of the queue still waits.
 */
export const CLAIM_JOBS = `
WITH async_commit AS MATERIALIZED (
  SELECT set_config('synchronous_commit', 'off', true) AS setting
),
due AS MATERIALIZED (
  SELECT id, priority, scheduled_at, serial_key
  FROM rewind_jobs AS job
  WHERE queue = $1
    AND state IN ('available', 'scheduled', 'retryable')
    AND scheduled_at <= now()
    AND (serial_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM rewind_jobs AS busy
      WHERE busy.serial_key = job.serial_key AND busy.state = 'executing'
    ))
  ORDER BY priority, scheduled_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
),
expired AS MATERIALIZED (
  SELECT id, priority, scheduled_at, serial_key
  FROM rewind_jobs
  WHERE queue = $1 AND state = 'executing' AND lease_expires_at <= now()
  ORDER BY priority, scheduled_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
),
candidates AS (
  SELECT *, 0 AS rank FROM expired UNION ALL SELECT *, 1 AS rank FROM due
),
chosen AS MATERIALIZED (
  SELECT id FROM (
    SELECT id, priority, scheduled_at FROM candidates WHERE serial_key IS NULL
    UNION ALL
    -- One job per serial key: an expired one (still executing) before a due one. Only the keyed
    -- candidates are sorted by key, bytewise, which is all that telling keys apart needs.
    (SELECT DISTINCT ON (serial_key COLLATE "C") id, priority, scheduled_at
    FROM candidates WHERE serial_key IS NOT NULL
    ORDER BY serial_key COLLATE "C", rank, priority, scheduled_at, id)
  ) AS one_per_key
  ORDER BY priority, scheduled_at, id
  LIMIT $2
)
UPDATE rewind_jobs SET
  errors = CASE WHEN state = 'executing'
    THEN errors || jsonb_build_array(jsonb_build_object(
      'attempt', attempt,
      'at', now(),
      'name', '${JOB_LEASE_EXPIRED}',
      'message', format('the lease of %s expired at %s', attempted_by, lease_expires_at)
    ))
    ELSE errors END,
  lost_attempts = lost_attempts + CASE WHEN state = 'executing' THEN 1 ELSE 0 END,
  state = 'executing',
  attempt = attempt + 1,
  attempted_at = now(),
  attempted_by = $3,
  lease_token = gen_random_uuid(),
  lease_expires_at = now() + make_interval(secs => $4::double precision / 1000)
WHERE id = ANY(ARRAY(SELECT id FROM chosen)) AND EXISTS (SELECT FROM async_commit)
RETURNING ${JOB_COLUMNS_WITH_JSON_TIMES}`;
