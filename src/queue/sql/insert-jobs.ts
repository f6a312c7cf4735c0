import { JOB_COLUMNS } from './job-columns.js';

/** The channel on which inserts announce runnable jobs; the payload is the queue's name. */
export const JOBS_CHANNEL = 'rewind_jobs';

/**
 * Inserts a batch of jobs given as one `jsonb` array ($1) of
 * `{ index, queue, kind, args, priority, max_attempts, scheduled_at, unique_key,
 *    unique_active_key, serial_key }`.
 *
 * Ids are drawn before the insert so that each input row can be joined back to what it became:
 * one row per input, in input order, with the job's columns, or `NULL`s for a duplicate key.
 * Each queue that got an available job is announced on {@link JOBS_CHANNEL}.
 * `ON CONFLICT DO NOTHING` on the two partial unique indexes (unique_key in every state,
 * unique_active_key among jobs that may still run) waits for an uncommitted insert of the same
 * key and proceeds if that transaction rolls back (BC-06).
 */
export const INSERT_JOBS = `
WITH input AS MATERIALIZED (
  SELECT nextval(pg_get_serial_sequence('rewind_jobs', 'id')) AS job_id, x.*
  FROM (
    SELECT *
    FROM jsonb_to_recordset($1::jsonb) AS r(
      index integer, queue text, kind text, args jsonb, priority smallint,
      max_attempts integer, scheduled_at timestamptz, unique_key text, unique_active_key text,
      serial_key text
    )
    ORDER BY index
  ) AS x
),
inserted AS (
  INSERT INTO rewind_jobs
    (id, queue, kind, args, state, priority, max_attempts, scheduled_at, unique_key,
     unique_active_key, serial_key)
  SELECT
    -- jsonb_to_recordset reads a JSON null as SQL NULL; args of null is the JSON value null.
    job_id, queue, kind, COALESCE(args, 'null'::jsonb),
    CASE WHEN scheduled_at > now() THEN 'scheduled' ELSE 'available' END,
    priority, max_attempts, COALESCE(scheduled_at, now()), unique_key, unique_active_key,
    serial_key
  FROM input
  ORDER BY index
  ON CONFLICT DO NOTHING
  RETURNING ${JOB_COLUMNS}
),
-- Announced in the same statement, so an insert costs one round trip; delivered at commit.
announced AS (
  SELECT count(pg_notify('${JOBS_CHANNEL}', queue)) AS queues
  FROM (SELECT DISTINCT queue FROM inserted WHERE state = 'available') AS runnable
)
SELECT input.index AS "inputIndex", inserted.*
FROM input LEFT JOIN inserted ON inserted.id = input.job_id
CROSS JOIN announced
ORDER BY input.index`;
