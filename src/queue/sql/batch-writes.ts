import { JOB_COLUMNS } from './job-columns.js';

/**
 * The jobs of a batch of held writes, each still executing under its own lease token: $1 is a
 * `bigint[]` of ids and $2 a JSON object from each id to its token.
 *
 * Written so that no plan of it costs more than a primary-key lookup per job. The plain form, a
 * join of the table with `unnest(ids, tokens)`, leaves the plan to estimates that are wrong in
 * just the moments that matter: planned for a batch of 500 while the statistics still said no
 * job was executing (a backlog inserted and analysed, then claimed), Postgres scanned the table
 * instead, and completions took 20 times as long over 40,000 jobs (bench/held-writes.ts). Here
 * the ids come from a sub-select, which the planner takes for a few rows and so looks up by
 * primary key, and each row finds its token in the JSON object rather than through a join.
 */
export const HELD_BATCH = `id = ANY(ARRAY(SELECT unnest($1::bigint[])))
  AND state = 'executing' AND lease_token = ($2::jsonb ->> id::text)::uuid`;

/**
 * Writes of a lease holder to many jobs in one statement (see {@link HELD_BATCH}). The ids of the
 * jobs it could not change come back: the lost ones, almost always none, so a batch of hundreds of
 * completions costs no rows to send and read back.
 */
function heldWrite(set: string): string {
  return `
WITH changed AS (
  UPDATE rewind_jobs SET ${set}
  WHERE ${HELD_BATCH}
  RETURNING id
)
SELECT held.id FROM unnest($1::bigint[]) AS held(id)
WHERE NOT EXISTS (SELECT FROM changed WHERE changed.id = held.id)`;
}

/** Marks the held jobs completed. */
export const COMPLETE_JOBS = heldWrite(
  `state = 'completed', completed_at = now(), lease_expires_at = NULL`,
);

/** Hands the held jobs back unstarted: runnable, and the claim's attempt taken back. */
export const UNCLAIM_JOBS = heldWrite(
  `state = 'available', attempt = attempt - 1, lease_expires_at = NULL`,
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
