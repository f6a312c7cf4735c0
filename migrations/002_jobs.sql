-- The job queue, modelled on Oban. One row per job; its state says who may touch it next.
--
--   available  runnable now
--   scheduled  runnable from scheduled_at on (inserted with a future time)
--   executing  claimed: attempted_by holds it until lease_expires_at, fenced by lease_token
--   retryable  failed with attempts left; runnable again from scheduled_at on
--   completed, discarded, cancelled  terminal
--
-- attempt counts every claim, so each attempt has its own number. lost_attempts counts the claims
-- that ended because their lease expired (a crashed or stalled worker): they are not handler
-- failures and do not count against max_attempts (BC-02).
CREATE TABLE rewind_jobs (
  id bigserial PRIMARY KEY,
  queue text NOT NULL CHECK (queue <> ''),
  kind text NOT NULL CHECK (kind <> ''),
  args jsonb NOT NULL DEFAULT '{}',
  state text NOT NULL DEFAULT 'available' CHECK (
    state IN (
      'available', 'scheduled', 'executing', 'retryable', 'completed', 'discarded', 'cancelled'
    )
  ),
  priority smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
  attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  max_attempts integer NOT NULL DEFAULT 20 CHECK (max_attempts > 0),
  lost_attempts integer NOT NULL DEFAULT 0,
  scheduled_at timestamptz NOT NULL DEFAULT now(),
  attempted_at timestamptz,
  attempted_by text,
  lease_token uuid,
  lease_expires_at timestamptz,
  completed_at timestamptz,
  discarded_at timestamptz,
  cancelled_at timestamptz,
  -- One entry per attempt that did not succeed: { attempt, at, name, message }.
  errors jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(errors) = 'array'),
  unique_key text,
  -- Jobs that share a serial key run one at a time: at most one of them is executing (the jobs
  -- of one saga, so two workers never advance the same saga at once).
  serial_key text,
  inserted_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT rewind_jobs_lost_attempts_check CHECK (lost_attempts BETWEEN 0 AND attempt),
  -- An executing job always has a holder and a lease, so a rescue can always find it (BC-01).
  CONSTRAINT rewind_jobs_executing_is_leased CHECK (
    state <> 'executing' OR (
      attempted_at IS NOT NULL AND attempted_by IS NOT NULL
      AND lease_token IS NOT NULL AND lease_expires_at IS NOT NULL
    )
  )
);

-- Uniqueness is decided by the database, not by a lock heuristic: an insert that meets an
-- uncommitted job with the same key waits for that transaction, and goes through if it rolls back
-- (BC-06). The key stays taken in every state, terminal ones included, so replaying a projection
-- never inserts a job twice.
CREATE UNIQUE INDEX rewind_jobs_unique_key ON rewind_jobs (unique_key) WHERE unique_key IS NOT NULL;

-- The claim query walks this index in claim order.
CREATE INDEX rewind_jobs_runnable ON rewind_jobs (queue, priority, scheduled_at, id)
  WHERE state IN ('available', 'scheduled', 'retryable');

-- Finds executing jobs whose lease has expired, to rescue them.
CREATE INDEX rewind_jobs_leases ON rewind_jobs (queue, lease_expires_at) WHERE state = 'executing';

-- At most one executing job per serial key, decided by the database: two claimers racing for
-- two jobs of one saga cannot both win.
CREATE UNIQUE INDEX rewind_jobs_serial_executing ON rewind_jobs (serial_key)
  WHERE state = 'executing' AND serial_key IS NOT NULL;
