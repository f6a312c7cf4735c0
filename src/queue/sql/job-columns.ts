/**
 * The columns of `rewind_jobs` under the names of the `Job` codec, for `SELECT` and `RETURNING`.
 * Unqualified, so they read the target row of an `UPDATE` or `INSERT`.
 */
export const JOB_COLUMNS = `id, queue, kind, args, state, priority, attempt,
  max_attempts AS "maxAttempts",
  lost_attempts AS "lostAttempts",
  snoozes,
  scheduled_at AS "scheduledAt",
  attempted_at AS "attemptedAt",
  attempted_by AS "attemptedBy",
  lease_token::text AS "leaseToken",
  lease_expires_at AS "leaseExpiresAt",
  completed_at AS "completedAt",
  discarded_at AS "discardedAt",
  cancelled_at AS "cancelledAt",
  errors,
  unique_key AS "uniqueKey",
  unique_active_key AS "uniqueActiveKey",
  serial_key AS "serialKey",
  inserted_at AS "insertedAt"`;

/**
 * {@link JOB_COLUMNS} with every timestamp as JSON text in ISO 8601, for the claim, which returns
 * hundreds of rows at a time: the `pg` driver parses a `timestamptz` with a regular expression,
 * whose match arrays were a fifth of a busy worker's garbage, while JSON text becomes a `Date`
 * through `JSON.parse` and the engine's own ISO parser. `DateFromStored` reads either form.
 */
export const JOB_COLUMNS_WITH_JSON_TIMES = `id, queue, kind, args, state, priority, attempt,
  max_attempts AS "maxAttempts",
  lost_attempts AS "lostAttempts",
  snoozes,
  to_json(scheduled_at) AS "scheduledAt",
  to_json(attempted_at) AS "attemptedAt",
  attempted_by AS "attemptedBy",
  lease_token::text AS "leaseToken",
  to_json(lease_expires_at) AS "leaseExpiresAt",
  to_json(completed_at) AS "completedAt",
  to_json(discarded_at) AS "discardedAt",
  to_json(cancelled_at) AS "cancelledAt",
  errors,
  unique_key AS "uniqueKey",
  unique_active_key AS "uniqueActiveKey",
  serial_key AS "serialKey",
  to_json(inserted_at) AS "insertedAt"`;
