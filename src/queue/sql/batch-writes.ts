import { JOB_COLUMNS } from './job-columns.js';

/**
 * Writes of a lease holder to many jobs in one statement: $1 is a `bigint[]` of ids and $2 the
 * `uuid[]` of their lease tokens, pairwise. Each job is changed only while it is still executing
 * under that token; the ids of the jobs changed come back.
 */
const HELD = `
FROM unnest($1::bigint[], $2::uuid[]) AS held(id, token)
WHERE job.id = held.id AND job.state = 'executing' AND job.lease_token = held.token`;

/** Marks the held jobs completed. */
export const COMPLETE_JOBS = `
UPDATE rewind_jobs AS job SET state = 'completed', completed_at = now(), lease_expires_at = NULL
${HELD}
RETURNING job.id`;

/** Moves the leases of the held jobs to $3 milliseconds from the database's now (heartbeats). */
export const EXTEND_LEASES = `
UPDATE rewind_jobs AS job SET
  lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
${HELD}
RETURNING job.id`;

/**
 * Hands held job $1 (token $2) back to run at $3, or $4 milliseconds from the database's now when
 * $3 is null, as a snooze: it does not count as a handler failure.
 */
export const SNOOZE_JOB = `
UPDATE rewind_jobs SET
  state = 'scheduled',
  snoozes = snoozes + 1,
  scheduled_at = COALESCE(
    $3::timestamptz,
    now() + make_interval(secs => $4::double precision / 1000)
  ),
  lease_expires_at = NULL
WHERE id = $1 AND state = 'executing' AND lease_token = $2::uuid
RETURNING ${JOB_COLUMNS}`;
