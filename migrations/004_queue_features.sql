-- The queue's second half: unique jobs over non-terminal states, snoozes, and cron schedules.

-- A key that is unique only among the jobs that may still run (available, scheduled, executing,
-- retryable). Once such a job ends, the key is free again. Decided by the database: an insert that
-- meets an uncommitted job with this key waits for that transaction (BC-06).
ALTER TABLE rewind_jobs ADD COLUMN unique_active_key text;
CREATE UNIQUE INDEX rewind_jobs_unique_active_key ON rewind_jobs (unique_active_key)
  WHERE unique_active_key IS NOT NULL
    AND state IN ('available', 'scheduled', 'executing', 'retryable');

-- Claims that ended in a snooze (the handler asked to run again later). Like lost attempts, they
-- do not count against max_attempts: handler failures = attempt - lost_attempts - snoozes.
ALTER TABLE rewind_jobs ADD COLUMN snoozes integer NOT NULL DEFAULT 0;
ALTER TABLE rewind_jobs ADD CONSTRAINT rewind_jobs_snoozes_check
  CHECK (snoozes >= 0 AND lost_attempts + snoozes <= attempt);

-- Finds ended jobs to prune, oldest first.
CREATE INDEX rewind_jobs_ended ON rewind_jobs (COALESCE(completed_at, discarded_at, cancelled_at))
  WHERE state IN ('completed', 'discarded', 'cancelled');

-- Cron schedules. Registering one is an upsert on its name; last_fire_at is the latest fire time
-- whose job was inserted, so a scheduler that was down can insert the ticks it missed (BC-07).
CREATE TABLE rewind_cron_schedules (
  name text PRIMARY KEY CHECK (name <> ''),
  expression text NOT NULL,
  timezone text NOT NULL DEFAULT 'UTC',
  queue text NOT NULL CHECK (queue <> ''),
  kind text NOT NULL CHECK (kind <> ''),
  args jsonb NOT NULL DEFAULT '{}',
  priority smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
  max_attempts integer NOT NULL DEFAULT 20 CHECK (max_attempts > 0),
  last_fire_at timestamptz,
  registered_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Who last led a singleton role (the cron scheduler), for operators. Leadership itself is a
-- transaction-scoped advisory lock; this row only says who held it last and when.
CREATE TABLE rewind_leaders (
  role text PRIMARY KEY,
  leader_id text NOT NULL,
  led_at timestamptz NOT NULL DEFAULT now()
);
