import { JOB_LEASE_EXPIRED } from '../job.js';

/**
 * The fields of each job in the claim's `jobs` array, in order; the other fields of a leased job
 * are the claim's own (queue, state, holder and lease). Times are epoch milliseconds.
 */
export const CLAIMED_JOB_FIELDS = [
  'id',
  'kind',
  'args',
  'priority',
  'attempt',
  'maxAttempts',
  'lostAttempts',
  'snoozes',
  'scheduledAt',
  'completedAt',
  'discardedAt',
  'cancelledAt',
  'errors',
  'uniqueKey',
  'uniqueActiveKey',
  'serialKey',
  'insertedAt',
] as const;

const epochMs = (column: string) => `date_part('epoch', ${column}) * 1000`;

/** The SQL of each field of {@link CLAIMED_JOB_FIELDS}, over the updated row. */
const CLAIMED_JOB_SQL: Record<(typeof CLAIMED_JOB_FIELDS)[number], string> = {
  // As text: a JSON number loses digits beyond 2^53.
  id: 'id::text',
  kind: 'kind',
  args: 'args',
  priority: 'priority',
  attempt: 'attempt',
  maxAttempts: 'max_attempts',
  lostAttempts: 'lost_attempts',
  snoozes: 'snoozes',
  scheduledAt: epochMs('scheduled_at'),
  completedAt: epochMs('completed_at'),
  discardedAt: epochMs('discarded_at'),
  cancelledAt: epochMs('cancelled_at'),
  errors: 'errors',
  uniqueKey: 'unique_key',
  uniqueActiveKey: 'unique_active_key',
  serialKey: 'serial_key',
  insertedAt: epochMs('inserted_at'),
};

/** The tuple of one claimed job, over the updated row. */
const CLAIMED_JOB_TUPLE = CLAIMED_JOB_FIELDS.map((field) => CLAIMED_JOB_SQL[field]).join(', ');

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
 * All the jobs of one claim share its lease: one token, one start and one expiry, sent once. The
 * statement returns a single row: the lease, and the jobs as one JSON array of tuples in the
 * order of {@link CLAIMED_JOB_FIELDS}, with times as epoch milliseconds. A claim of hundreds of
 * short jobs is then one document for the driver to read, not hundreds of rows of twenty text
 * fields and ISO timestamps to parse one by one, which cost more than the claim itself
 * (bench/queue.ts).
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
lease AS MATERIALIZED (
  SELECT gen_random_uuid() AS token, now() AS attempted_at,
    now() + make_interval(secs => $4::double precision / 1000) AS expires_at
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
),
claimed AS (
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
  attempted_at = lease.attempted_at,
  attempted_by = $3,
  lease_token = lease.token,
  lease_expires_at = lease.expires_at
FROM lease
WHERE id = ANY(ARRAY(SELECT id FROM chosen)) AND EXISTS (SELECT FROM async_commit)
RETURNING rewind_jobs.*
)
SELECT lease.token::text AS "leaseToken",
  ${epochMs('lease.attempted_at')} AS "attemptedAt",
  ${epochMs('lease.expires_at')} AS "leaseExpiresAt",
  (SELECT json_agg(json_build_array(${CLAIMED_JOB_TUPLE})) FROM claimed) AS jobs
FROM lease`;
