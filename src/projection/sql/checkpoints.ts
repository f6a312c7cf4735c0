/**
 * The statements on `rewind_checkpoints` (migration 003). A missing row means the projection
 * has not read anything yet.
 */

/** The position of checkpoint $1, if it exists. */
export const READ_CHECKPOINT = `SELECT position FROM rewind_checkpoints WHERE name = $1`;

/** Creates checkpoint $1 at position $2 unless it exists. */
export const CREATE_CHECKPOINT = `
INSERT INTO rewind_checkpoints (name, position) VALUES ($1, $2)
ON CONFLICT (name) DO NOTHING`;

/**
 * Locks checkpoint $1 for the rest of the transaction and returns its position: a second
 * projector's transaction waits here until the first has committed its batch.
 */
export const LOCK_CHECKPOINT = `SELECT position FROM rewind_checkpoints WHERE name = $1 FOR UPDATE`;

/**
 * Moves checkpoint $1 from position $2 to $3. Touches no row if it is no longer at $2, so a
 * projector never writes over another's progress.
 */
export const ADVANCE_CHECKPOINT = `
UPDATE rewind_checkpoints SET position = $3, updated_at = now()
WHERE name = $1 AND position = $2`;

/** Sets checkpoint $1 to position $2, creating it if needed. */
export const SET_CHECKPOINT = `
INSERT INTO rewind_checkpoints (name, position) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`;
