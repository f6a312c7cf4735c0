import { JOB_COLUMNS } from './job-columns.js';

/**
 * The writes of a lease holder. Each is fenced by the claim's token ($2): it changes the job only
 * while it is still executing under that claim, and returns no row otherwise.
 */
const FENCE = `id = $1 AND state = 'executing' AND lease_token = $2::uuid`;

/** Marks job $1 completed. */
export const COMPLETE_JOB = `
UPDATE rewind_jobs SET state = 'completed', completed_at = now(), lease_expires_at = NULL
WHERE ${FENCE}
RETURNING ${JOB_COLUMNS}`;

// Repeated in three SET clauses, which all read the row as it was before the update.
const DISCARDS = `($5::boolean OR attempt - lost_attempts - snoozes >= max_attempts)`;

/**
 * Records a failed attempt of job $1: error name $3 and message $4. Discards the job when $5 is
 * true or its handler failures reach max_attempts; otherwise makes it retryable at $6, or, when
 * $6 is null, $7 milliseconds from the database's now.
 */
export const FAIL_JOB = `
UPDATE rewind_jobs SET
  errors = errors || jsonb_build_array(jsonb_build_object(
    'attempt', attempt, 'at', now(), 'name', $3::text, 'message', $4::text
  )),
  state = CASE WHEN ${DISCARDS} THEN 'discarded' ELSE 'retryable' END,
  discarded_at = CASE WHEN ${DISCARDS} THEN now() END,
  scheduled_at = CASE WHEN ${DISCARDS} THEN scheduled_at
    ELSE COALESCE($6::timestamptz, now() + make_interval(secs => $7::double precision / 1000))
  END,
  lease_expires_at = NULL
WHERE ${FENCE}
RETURNING ${JOB_COLUMNS}`;

/** Moves the lease of job $1 to $3 milliseconds from the database's now (a heartbeat). */
export const EXTEND_LEASE = `
UPDATE rewind_jobs SET
  lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
WHERE ${FENCE}
RETURNING ${JOB_COLUMNS}`;
