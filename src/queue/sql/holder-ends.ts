import { JOB_CANCELLED } from '../operate-jobs.js';
import { JOB_COLUMNS } from './job-columns.js';

/** The `name` of the `errors` entry of a job whose worker stopped before its handler did. */
export const JOB_INTERRUPTED = 'JobInterrupted';

/**
 * Hands held job $1 (token $2) back, runnable at once, because its worker is shutting down
 * (BC-25). Like a lost lease, the attempt is recorded in `errors` and counted in `lost_attempts`:
 * the handler gave no verdict, so it does not use up `max_attempts`. $3 names the worker.
 */
export const RELEASE_JOB = `
UPDATE rewind_jobs SET
  errors = errors || jsonb_build_array(jsonb_build_object(
    'attempt', attempt, 'at', now(), 'name', '${JOB_INTERRUPTED}',
    'message', format('worker %s stopped before the handler finished', $3::text)
  )),
  lost_attempts = lost_attempts + 1,
  state = 'available',
  scheduled_at = now(),
  lease_expires_at = NULL
WHERE id = $1 AND state = 'executing' AND lease_token = $2::uuid
RETURNING ${JOB_COLUMNS}`;

/** Cancels held job $1 (token $2) at its handler's request, with reason $3. */
export const CANCEL_HELD_JOB = `
UPDATE rewind_jobs SET
  errors = errors || jsonb_build_array(jsonb_build_object(
    'attempt', attempt, 'at', now(), 'name', '${JOB_CANCELLED}', 'message', $3::text
  )),
  state = 'cancelled',
  cancelled_at = now(),
  lease_expires_at = NULL
WHERE id = $1 AND state = 'executing' AND lease_token = $2::uuid
RETURNING ${JOB_COLUMNS}`;
