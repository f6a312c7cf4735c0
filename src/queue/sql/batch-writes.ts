import { JOB_COLUMNS } from './job-columns.js';

/**
 * Writes of a lease holder to many jobs in one statement: $1 is a `bigint[]` of ids and $2 the
 * `uuid[]` of their lease tokens, pairwise. Each job is changed only while it is still executing
 * under that token. The ids of the jobs it could not change come back: the lost ones, almost
 * always none, so a batch of hundreds of completions costs no rows to send and read back.
 */
function heldWrite(set: string): string {
  return `
WITH changed AS (
  UPDATE rewind_jobs AS job SET ${set}
  FROM unnest($1::bigint[], $2::uuid[]) AS held(id, token)
  WHERE job.id = held.id AND job.state = 'executing' AND job.lease_token = held.token
  RETURNING job.id
)
SELECT held.id FROM unnest($1::bigint[]) AS held(id)
WHERE NOT EXISTS (SELECT FROM changed WHERE changed.id = held.id)`;
}

/** Marks the held jobs completed. */
export const COMPLETE_JOBS = heldWrite(
  `state = 'completed', completed_at = now(), lease_expires_at = NULL`,
);

/** Moves the leases of the held jobs to $3 milliseconds from the database's now (heartbeats). */
export const EXTEND_LEASES = heldWrite(
  'lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)',
);

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
