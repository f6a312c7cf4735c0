import * as t from 'io-ts';

import type { Json as JsonValue } from '../core/values.js';

/** A JSON value as read back from a `jsonb` column. */
export type Json = JsonValue;

/** The io-ts codec of {@link Json}: checks that a `jsonb` value is plain JSON all the way down. */
export const Json: t.Type<Json, Json, unknown> = t.recursion<Json, Json, unknown>('Json', () =>
  t.union([t.null, t.boolean, t.number, t.string, t.readonlyArray(Json), t.record(t.string, Json)]),
);

/**
 * A `timestamptz` as the drivers return it: a `Date` from a column, or an ISO 8601 string from
 * inside `jsonb` (`to_jsonb(now())` keeps microseconds, which `Date` drops).
 */
export const DateFromStored = new t.Type<Date, string, unknown>(
  'DateFromStored',
  (u): u is Date => u instanceof Date && !Number.isNaN(u.getTime()),
  (u, context) => {
    if (u instanceof Date && !Number.isNaN(u.getTime())) return t.success(u);
    if (typeof u === 'string') {
      const parsed = new Date(u);
      if (!Number.isNaN(parsed.getTime())) return t.success(parsed);
    }
    return t.failure(u, context, 'expected a timestamp');
  },
  (date) => date.toISOString(),
);

/** `codec`, or SQL `NULL`. */
export function nullable<Codec extends t.Mixed>(codec: Codec) {
  return t.union([codec, t.null]);
}
