-- How far each projection has read the event store: the global position of the last event whose
-- jobs were written. It is advanced in the same transaction as those jobs.
CREATE TABLE rewind_checkpoints (
  name text PRIMARY KEY CHECK (name <> ''),
  position bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
