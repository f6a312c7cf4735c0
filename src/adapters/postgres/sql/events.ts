const EVENTS_APPENDED_CHANNEL_NAME = 'rewind_events';

/**
 * The statements of the Postgres event store, over the `rewind_events` table of
 * migrations/001_events.sql. Table names are unqualified: the connection's search path picks the
 * schema.
 */

/** The columns every read returns, in the shape the store's row codec decodes. */
const EVENT_COLUMNS = `
  position, stream_name, revision, event_id, type, data, metadata, recorded_at`;

/** The stream's last revision (`$1` stream name), or null when the stream has no events. */
/**
 * The revision and hash of stream `$1`'s last event: where an append goes, and what it
 * chains to.
 */
export const SELECT_STREAM_HEAD = `
  SELECT revision, hash FROM rewind_events WHERE stream_name = $1
  ORDER BY revision DESC LIMIT 1`;

export const SELECT_LAST_REVISION = `
  SELECT max(revision) AS revision FROM rewind_events WHERE stream_name = $1`;

/**
 * The key class of the append lock; the key itself is the table's oid, so stores in different
 * schemas of one database do not wait for each other.
 */
export const APPEND_LOCK_CLASS = 0x72657761;

/**
 * Serialises appends from here to commit, so that they draw positions, draw transaction ids and
 * commit all in the same order. `readAll` passes an event once its transaction id is below every
 * open transaction's; that is only safe if a lower id never means a higher position. Two
 * unserialised INSERTs can interleave: A draws position 5, B draws position 6, B draws its
 * transaction id, then A does. If B commits while A is open, B's id is below A's, so position 6
 * is returned, and a reader resuming after 6 never sees 5. The price: appends to different
 * streams commit one at a time. The append must not write before taking the lock, or its
 * transaction id would be drawn outside it.
 */
export const LOCK_APPENDS = `
  SELECT pg_advisory_xact_lock(${APPEND_LOCK_CLASS}, 'rewind_events'::regclass::oid::integer)`;

/**
 * Inserts a batch (`$3`, a JSON array of `{ eventId, type, data, metadata, prevHash, hash }`)
 * into stream `$1`
 * at revisions `$2`, `$2 + 1`, …, drawing positions in the same order.
 */
export const INSERT_EVENTS = `
  INSERT INTO rewind_events (stream_name, revision, event_id, type, data, metadata, prev_hash, hash)
  SELECT $1, $2::bigint + e.ordinality - 1, e.event ->> 'eventId', e.event ->> 'type',
         e.event -> 'data', e.event -> 'metadata', e.event ->> 'prevHash', e.event ->> 'hash'
  FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(event, ordinality)
  ORDER BY e.ordinality`;

/**
 * {@link INSERT_EVENTS} and the notification of {@link EVENTS_APPENDED_CHANNEL} in one statement,
 * to spend one round trip, not two, while the append lock is held.
 */
export const INSERT_EVENTS_AND_NOTIFY = `
  WITH inserted AS (${INSERT_EVENTS} RETURNING 1)
  SELECT pg_notify('${EVENTS_APPENDED_CHANNEL_NAME}', $1) WHERE EXISTS (SELECT 1 FROM inserted)`;

/** The channel an append notifies when it commits, to wake readers of the global order early. */
export const EVENTS_APPENDED_CHANNEL = EVENTS_APPENDED_CHANNEL_NAME;

/** Notifies {@link EVENTS_APPENDED_CHANNEL} with the stream name (`$1`), delivered at commit. */
export const NOTIFY_APPENDED = `SELECT pg_notify('${EVENTS_APPENDED_CHANNEL}', $1)`;

/** The event ids of stream `$1` from revision `$2` to `$3`, in revision order. */
export const SELECT_EVENT_IDS = `
  SELECT event_id FROM rewind_events
  WHERE stream_name = $1 AND revision BETWEEN $2::bigint AND $3::bigint
  ORDER BY revision`;

/** The events of stream `$1` from revision `$2` on. */
export const SELECT_STREAM_EVENTS = `
  SELECT ${EVENT_COLUMNS} FROM rewind_events
  WHERE stream_name = $1 AND revision >= $2::bigint
  ORDER BY revision`;

/** The events of stream `$1` from revision `$2` to revision `$3`, both included. */
export const SELECT_STREAM_RANGE = `
  SELECT ${EVENT_COLUMNS} FROM rewind_events
  WHERE stream_name = $1 AND revision BETWEEN $2::bigint AND $3::bigint
  ORDER BY revision`;

/** The hash of the event of stream `$1` at revision `$2` (migrations/005). */
export const SELECT_EVENT_HASH = `
  SELECT hash FROM rewind_events WHERE stream_name = $1 AND revision = $2::bigint`;

/**
 * Every stored column that the hash chain covers, of stream `$1` in revision order, as stored:
 * what `rewind verify --integrity` recomputes.
 */
export const SELECT_STREAM_CHAIN = `
  SELECT stream_name, revision, event_id, type, data, metadata, prev_hash, hash
  FROM rewind_events WHERE stream_name = $1
  ORDER BY revision`;

/** The names of the streams that have events, in order of their first event. */
export const SELECT_STREAM_NAMES = `
  SELECT stream_name FROM rewind_events GROUP BY stream_name ORDER BY min(position)`;

/**
 * At most `$2` events after position `$1`, of transactions below every transaction still in
 * flight. An event of a transaction at or above the snapshot's xmin is held back even when it
 * has committed: a transaction still open below it may yet commit a lower position.
 */
export const SELECT_ALL_EVENTS = `
  SELECT ${EVENT_COLUMNS} FROM rewind_events
  WHERE position > $1::bigint AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY position
  LIMIT $2`;

/** Postgres' constraint names on `rewind_events` that an append can violate. */
export const STREAM_REVISION_CONSTRAINT = 'rewind_events_stream_revision_key';
export const EVENT_ID_CONSTRAINT = 'rewind_events_event_id_key';
