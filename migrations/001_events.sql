-- The event store: every saga event, in its stream (one per saga) and in one global order.
--
-- position        global order, from an identity: increasing, with gaps where appends rolled back.
-- revision        the event's number in its stream, from 0; unique with the stream name, which
--                 is what makes a concurrent append to the same revision fail (optimistic
--                 concurrency).
-- event_id        unique in the store, so a retried append cannot write an event twice (BC-14).
-- transaction_id  the writing transaction, so a reader of the global order can hold back events
--                 of transactions that may still be overtaken by one still open.
--
-- The primary key is the index for reading by position.
CREATE TABLE rewind_events (
  position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream_name text NOT NULL,
  revision bigint NOT NULL,
  event_id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT rewind_events_stream_revision_key UNIQUE (stream_name, revision),
  CONSTRAINT rewind_events_event_id_key UNIQUE (event_id),
  CONSTRAINT rewind_events_stream_name_check CHECK (stream_name <> ''),
  CONSTRAINT rewind_events_event_id_check CHECK (event_id <> ''),
  CONSTRAINT rewind_events_revision_check CHECK (revision >= 0)
);
