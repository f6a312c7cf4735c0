import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { SELECT_ACTOR_EVENTS, SELECT_SAGAS } from '../adapters/postgres/sql/saga-list.js';
import { ADMIN_ROLE } from '../audit/authorization.js';
import { describeDecodeErrors } from '../core/decode-failure.js';
import { Actor, BigIntFromStored, EventMetadata } from '../core/events.js';
import type { SqlExecutor, SqlRow } from '../ports/sql.js';

/** The statuses `rewind list --status` accepts. */
export const SagaStatusFilter = t.keyof(
  { running: null, compensating: null, completed: null, compensated: null, failed: null },
  'SagaStatus',
);

/** Filters of {@link listSagas}; each is skipped when absent. */
export interface SagaListFilter {
  readonly saga?: string;
  /** The id of the actor that started the saga. */
  readonly actorId?: string;
  readonly tenant?: string;
  readonly startedFrom?: Date;
  readonly startedBefore?: Date;
  readonly status?: t.TypeOf<typeof SagaStatusFilter>;
  /** Default: 1000. */
  readonly limit?: number;
}

/** One saga of a listing. */
export const SagaSummary = t.type(
  {
    saga_id: t.string,
    saga: t.string,
    version: t.number,
    actor: Actor,
    started_at: t.string,
    last_revision: BigIntFromStored,
    updated_at: t.string,
    status: SagaStatusFilter,
  },
  'SagaSummary',
);
export type SagaSummary = t.TypeOf<typeof SagaSummary>;

function decodeRow<Value>(codec: t.Decoder<unknown, Value>, row: SqlRow): Value {
  const decoded = codec.decode(row);
  if (E.isRight(decoded)) return decoded.right;
  const { path, message } = describeDecodeErrors(decoded.left);
  throw new Error(`unexpected ${codec.name} row at ${path}: ${message}`);
}

/** The tenant scope of a reader: admins see every tenant, others their own (or none). */
function scopeOf(reader: Actor): [boolean, string | null] {
  return [reader.roles?.includes(ADMIN_ROLE) === true, reader.tenant ?? null];
}

/**
 * The sagas that match `filter` and that `reader` may read (its tenant's, under the default
 * tenant policy), oldest first.
 */
export async function listSagas(
  db: SqlExecutor,
  reader: Actor,
  filter: SagaListFilter,
): Promise<SagaSummary[]> {
  const result = await db.query(SELECT_SAGAS, [
    filter.saga ?? null,
    filter.actorId ?? null,
    filter.tenant ?? null,
    filter.startedFrom?.toISOString() ?? null,
    filter.startedBefore?.toISOString() ?? null,
    filter.status ?? null,
    ...scopeOf(reader),
    filter.limit ?? 1000,
  ]);
  return result.rows.map((row) => decodeRow(SagaSummary, row));
}

/** One event of an audit trail. */
export const AuditEntry = t.type(
  {
    position: BigIntFromStored,
    stream_name: t.string,
    revision: BigIntFromStored,
    event_id: t.string,
    type: t.string,
    data: t.unknown,
    metadata: EventMetadata,
  },
  'AuditEntry',
);
export type AuditEntry = t.TypeOf<typeof AuditEntry>;

/**
 * Every event actor `actorId` caused, in global order, in the sagas `reader` may read; pages of
 * `pageSize` are read until the end.
 */
export async function readAuditTrail(
  db: SqlExecutor,
  reader: Actor,
  actorId: string,
  pageSize = 1000,
): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let after = -1n;
  for (;;) {
    const [all, tenant] = scopeOf(reader);
    const result = await db.query(SELECT_ACTOR_EVENTS, [
      actorId,
      String(after),
      pageSize,
      all,
      tenant,
    ]);
    const page = result.rows.map((row) => decodeRow(AuditEntry, row));
    entries.push(...page);
    const last = page.at(-1);
    if (last === undefined || page.length < pageSize) return entries;
    after = last.position;
  }
}
