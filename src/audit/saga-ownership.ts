import * as E from 'fp-ts/lib/Either.js';

import { readStreamRange } from '../adapters/postgres/postgres-event-store.js';
import type { Actor } from '../core/events.js';
import { type SagaId, sagaStreamName } from '../core/ids.js';
import type { ReadFailure } from '../ports/event-store.js';
import type { SqlExecutor } from '../ports/sql.js';
import {
  type AuthorizationFailure,
  type AuthorizationPolicy,
  type EngineOperation,
  type SagaOwnership,
  tenantPolicy,
} from './authorization.js';

/** No saga has this id. */
export interface SagaNotFoundFailure {
  readonly _tag: 'SagaNotFoundFailure';
  readonly sagaId: SagaId;
}

/** Why a saga could not be accessed. */
export type SagaAccessFailure = SagaNotFoundFailure | AuthorizationFailure | ReadFailure;

/** Who owns a saga, from its first event (SagaStarted); undefined when it has no events. */
export async function readSagaOwnership(
  db: SqlExecutor,
  sagaId: SagaId,
): Promise<E.Either<ReadFailure, SagaOwnership | undefined>> {
  const first = await readStreamRange(db, sagaStreamName(sagaId), 0n, 0n);
  if (E.isLeft(first)) return first;
  const started = first.right[0];
  if (started?.event.type !== 'SagaStarted') return E.right(undefined);
  return E.right({ sagaId, saga: started.event.data.saga, owner: started.metadata.actor });
}

/**
 * Asks `policy` whether `actor` may do `operation` on saga `sagaId`, before anything else is
 * read or written. A saga that does not exist is reported as such (its id reveals nothing).
 */
export async function authorizeSagaAccess(
  db: SqlExecutor,
  sagaId: SagaId,
  actor: Actor,
  operation: EngineOperation,
  policy: AuthorizationPolicy = tenantPolicy,
): Promise<E.Either<SagaAccessFailure, SagaOwnership>> {
  const ownership = await readSagaOwnership(db, sagaId);
  if (E.isLeft(ownership)) return ownership;
  if (ownership.right === undefined) return E.left({ _tag: 'SagaNotFoundFailure', sagaId });
  const verdict = policy({ operation, actor, target: ownership.right });
  return E.isLeft(verdict) ? verdict : E.right(ownership.right);
}
