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
