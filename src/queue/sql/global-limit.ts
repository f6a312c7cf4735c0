/**
 * Serialises the claimers of queue $1 until their transaction ends. The key is namespaced so it
 * does not collide with the migration lock or the cron leader lock.
 */
export const LOCK_QUEUE = `SELECT pg_advisory_xact_lock(hashtext('rewind.queue'), hashtext($1))`;

/** Jobs of queue $1 that hold a live lease; read after {@link LOCK_QUEUE}, in a new snapshot. */
export const COUNT_LIVE_LEASES = `
SELECT count(*)::int AS executing FROM rewind_jobs
WHERE queue = $1 AND state = 'executing' AND lease_expires_at > now()`;
