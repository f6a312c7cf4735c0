import { JOB_COLUMNS } from './job-columns.js';

/** The channel on which a cancel or discard of an executing job is announced; payload: its id. */
export const JOB_CANCEL_CHANNEL = 'rewind_job_cancel';

const ACTIVE = `('available', 'scheduled', 'executing', 'retryable')`;

/**
 * Ends the jobs of $1 (a `bigint[]`) that may still run, as $2 (`cancelled` or `discarded`), with
 * an error entry named $3 and message $4. An executing job is ended too: its holder's fenced
 * writes fail from now on, and the holder hears of it on {@link JOB_CANCEL_CHANNEL} (and at its
 * next heartbeat), so it aborts the handler.
 */
export const END_JOBS = `
UPDATE rewind_jobs SET
  state = $2::text,
  cancelled_at = CASE WHEN $2::text = 'cancelled' THEN now() END,
  discarded_at = CASE WHEN $2::text = 'discarded' THEN now() END,
  errors = errors || jsonb_build_array(jsonb_build_object(
    'attempt', attempt, 'at', now(), 'name', $3::text, 'message', $4::text
  )),
  lease_expires_at = NULL
WHERE id = ANY($1::bigint[]) AND state IN ${ACTIVE}
RETURNING ${JOB_COLUMNS}`;

/** Announces the ids of $1 (a `text[]`) on {@link JOB_CANCEL_CHANNEL}; delivered at commit. */
export const NOTIFY_CANCELS = `
SELECT pg_notify('${JOB_CANCEL_CHANNEL}', id) FROM unnest($1::text[]) AS ids(id)`;

/**
 * Makes the jobs of $1 that are not executing runnable now: retryable, scheduled and ended jobs
 * alike. A job whose handler failures used up its attempts gets exactly one more (BC-23: a
 * replayed dead job runs once and is discarded again if it fails).
 */
export const RETRY_JOBS = `
UPDATE rewind_jobs SET
  state = 'available',
  scheduled_at = now(),
  max_attempts = GREATEST(max_attempts, attempt - lost_attempts - snoozes + 1),
  completed_at = NULL, discarded_at = NULL, cancelled_at = NULL
WHERE id = ANY($1::bigint[]) AND state <> 'executing'
RETURNING ${JOB_COLUMNS}`;
