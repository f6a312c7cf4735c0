/**
 * The statements of `rewind import` beyond the event store's own (src/adapters/postgres/sql/):
 * the checks it makes against the store, inside the transaction that appends the file.
 */

/** Which of the event ids `$1` (a JSON array of strings) are stored already, in any stream. */
export const SELECT_STORED_EVENT_IDS = `
  SELECT event_id FROM rewind_events
  WHERE event_id IN (SELECT jsonb_array_elements_text($1::jsonb))`;

/**
 * A savepoint: an append that fails inside the import's transaction rolls back to it, so the
 * event store can still read the stream to tell a conflict from a reused event id.
 */
export const SAVEPOINT_APPEND = 'SAVEPOINT rewind_import_append';
export const RELEASE_APPEND = 'RELEASE SAVEPOINT rewind_import_append';
export const ROLLBACK_TO_APPEND = 'ROLLBACK TO SAVEPOINT rewind_import_append';
