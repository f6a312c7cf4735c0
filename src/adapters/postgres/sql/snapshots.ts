/**
 * The statements of time-travel snapshots, over `rewind_snapshots` (migrations/005): a saga's
 * folded state at some revisions of its stream.
 */

/** The latest snapshot of stream `$1` at or below revision `$2`. */
export const SELECT_SNAPSHOT_AT_OR_BELOW = `
  SELECT revision, state FROM rewind_snapshots
  WHERE stream_name = $1 AND revision <= $2::bigint
  ORDER BY revision DESC
  LIMIT 1`;

/** Stores snapshots (`$2`, a JSON array of `{ revision, state }`) of stream `$1`, once each. */
export const INSERT_SNAPSHOTS = `
  INSERT INTO rewind_snapshots (stream_name, revision, state)
  SELECT $1, (s ->> 'revision')::bigint, s -> 'state'
  FROM jsonb_array_elements($2::jsonb) AS s
  ON CONFLICT (stream_name, revision) DO NOTHING`;

/** Forgets every snapshot of stream `$1`. */
export const DELETE_SNAPSHOTS = `DELETE FROM rewind_snapshots WHERE stream_name = $1`;
