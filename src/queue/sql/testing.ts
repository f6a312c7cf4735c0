import { JOB_COLUMNS } from './job-columns.js';

/** The jobs of queue $1, of kind $2 when not null, with ids among $3 (`bigint[]`) when not null. */
export const LIST_JOBS = `
SELECT ${JOB_COLUMNS} FROM rewind_jobs
WHERE queue = $1 AND ($2::text IS NULL OR kind = $2) AND ($3::bigint[] IS NULL OR id = ANY($3))
ORDER BY id`;

/** Makes the scheduled and retryable jobs of queue $1 due now (the `withScheduled` drain). */
export const MAKE_SCHEDULED_DUE = `
UPDATE rewind_jobs SET scheduled_at = now()
WHERE queue = $1 AND state IN ('scheduled', 'retryable') AND scheduled_at > now()`;
