/** Registers schedule $1, or updates it in place; `last_fire_at` is kept. */
export const UPSERT_CRON_SCHEDULE = `
INSERT INTO rewind_cron_schedules
  (name, expression, timezone, queue, kind, args, priority, max_attempts)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)
ON CONFLICT (name) DO UPDATE SET
  expression = EXCLUDED.expression, timezone = EXCLUDED.timezone, queue = EXCLUDED.queue,
  kind = EXCLUDED.kind, args = EXCLUDED.args, priority = EXCLUDED.priority,
  max_attempts = EXCLUDED.max_attempts,
  updated_at = CASE WHEN (rewind_cron_schedules.expression, rewind_cron_schedules.timezone,
      rewind_cron_schedules.queue, rewind_cron_schedules.kind, rewind_cron_schedules.args,
      rewind_cron_schedules.priority, rewind_cron_schedules.max_attempts)
    IS DISTINCT FROM (EXCLUDED.expression, EXCLUDED.timezone, EXCLUDED.queue, EXCLUDED.kind,
      EXCLUDED.args, EXCLUDED.priority, EXCLUDED.max_attempts)
    THEN now() ELSE rewind_cron_schedules.updated_at END`;

/**
 * Takes the cron leadership for the rest of the transaction, if nobody holds it: true or false.
 * A transaction-scoped lock cannot outlive its holder's connection, so a crashed leader never
 * blocks the others.
 */
export const TRY_LEAD_CRON = `SELECT pg_try_advisory_xact_lock(hashtext('rewind.cron')) AS led`;

/** Records leader $1 as the last holder of the cron role. */
export const RECORD_CRON_LEADER = `
INSERT INTO rewind_leaders (role, leader_id) VALUES ('cron', $1)
ON CONFLICT (role) DO UPDATE SET leader_id = EXCLUDED.leader_id, led_at = now()`;

/** Every schedule, locked for this tick. */
export const LOCK_CRON_SCHEDULES = `
SELECT name, expression, timezone, queue, kind, args, priority,
  max_attempts AS "maxAttempts", last_fire_at AS "lastFireAt", registered_at AS "registeredAt"
FROM rewind_cron_schedules
ORDER BY name
FOR UPDATE`;

/** Moves schedule $1's last inserted tick to $2. */
export const ADVANCE_CRON_SCHEDULE = `
UPDATE rewind_cron_schedules SET last_fire_at = $2::timestamptz WHERE name = $1`;
