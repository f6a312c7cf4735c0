/**
 * The read-side queries of `rewind list` and `rewind audit`, straight over `rewind_events`
 * (indexes in migrations/005): no projection to keep up to date, at the price of a scan of the
 * SagaStarted events per listing.
 */

/**
 * Sagas by their SagaStarted event, with their status from the latest of their terminal and
 * CompensationStarted events. Filters, each skipped when null: `$1` saga name, `$2` starting
 * actor's id, `$3` tenant, `$4` started at or after, `$5` started before, `$6` status. Scope:
 * `$7` true lets every tenant through, otherwise only the tenant `$8` (null: sagas without one).
 * At most `$9` rows, oldest first.
 */
export const SELECT_SAGAS = `
  SELECT * FROM (
    SELECT s.data ->> 'sagaId' AS saga_id,
           s.data ->> 'saga' AS saga,
           (s.data ->> 'version')::integer AS version,
           s.metadata -> 'actor' AS actor,
           s.metadata ->> 'occurredAt' AS started_at,
           last.revision AS last_revision,
           last.metadata ->> 'occurredAt' AS updated_at,
           CASE (SELECT o.type FROM rewind_events o
                 WHERE o.stream_name = s.stream_name
                   AND o.type IN ('SagaCompleted', 'SagaCompensated', 'SagaFailed',
                                  'CompensationStarted')
                 ORDER BY o.revision DESC LIMIT 1)
             WHEN 'SagaCompleted' THEN 'completed'
             WHEN 'SagaCompensated' THEN 'compensated'
             WHEN 'SagaFailed' THEN 'failed'
             WHEN 'CompensationStarted' THEN 'compensating'
             ELSE 'running'
           END AS status,
           s.position
    FROM rewind_events s
    CROSS JOIN LATERAL (
      SELECT l.revision, l.metadata FROM rewind_events l
      WHERE l.stream_name = s.stream_name ORDER BY l.revision DESC LIMIT 1
    ) last
    WHERE s.type = 'SagaStarted'
      AND ($1::text IS NULL OR s.data ->> 'saga' = $1)
      AND ($2::text IS NULL OR s.metadata -> 'actor' ->> 'id' = $2)
      AND ($3::text IS NULL OR s.metadata -> 'actor' ->> 'tenant' = $3)
      AND ($4::timestamptz IS NULL OR (s.metadata ->> 'occurredAt')::timestamptz >= $4)
      AND ($5::timestamptz IS NULL OR (s.metadata ->> 'occurredAt')::timestamptz < $5)
      AND ($7::boolean OR s.metadata -> 'actor' ->> 'tenant' IS NOT DISTINCT FROM $8::text)
  ) sagas
  WHERE $6::text IS NULL OR status = $6
  ORDER BY position
  LIMIT $9`;

/**
 * The events actor `$1` caused, after position `$2`, at most `$3`, in global order. Scope as in
 * {@link SELECT_SAGAS}: `$4` true for every tenant, otherwise only streams whose SagaStarted
 * actor has tenant `$5`.
 */
export const SELECT_ACTOR_EVENTS = `
  SELECT e.position, e.stream_name, e.revision, e.event_id, e.type, e.data, e.metadata,
         e.recorded_at
  FROM rewind_events e
  WHERE e.metadata -> 'actor' ->> 'id' = $1 AND e.position > $2::bigint
    AND ($4::boolean OR EXISTS (
      SELECT 1 FROM rewind_events s
      WHERE s.stream_name = e.stream_name AND s.revision = 0
        AND s.metadata -> 'actor' ->> 'tenant' IS NOT DISTINCT FROM $5::text))
  ORDER BY e.position
  LIMIT $3`;
