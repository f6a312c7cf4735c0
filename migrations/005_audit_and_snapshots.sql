-- Tamper evidence, audit queries and time-travel snapshots (issue 6).
--
-- prev_hash, hash  each event's hash chains it to the one before it in its stream:
--                  hash = sha256(prev_hash || canonical JSON of the stream name, revision, event
--                  id, type, data and metadata), prev_hash being the previous event's hash ('' for
--                  revision 0). Computed by the event store inside the appending transaction.
--                  Events written before this migration have no hash and are reported as
--                  unchained by `rewind verify --integrity`.
ALTER TABLE rewind_events ADD COLUMN prev_hash text;
ALTER TABLE rewind_events ADD COLUMN hash text;

-- `rewind list` finds sagas by their first event, `rewind audit` events by actor.
CREATE INDEX rewind_events_type_idx ON rewind_events (type);
CREATE INDEX rewind_events_actor_idx ON rewind_events ((metadata -> 'actor' ->> 'id'), position);

-- Snapshots of a saga's folded state, every so many events, so that the state at any event of a
-- long stream folds at most that many events. Derived data: deleting rows loses nothing.
CREATE TABLE rewind_snapshots (
  stream_name text NOT NULL,
  revision bigint NOT NULL,
  state jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_name, revision)
);
