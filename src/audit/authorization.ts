import * as E from 'fp-ts/lib/Either.js';

import type { Actor } from '../core/events.js';
import type { SagaId } from '../core/ids.js';

/**
 * The authorization hook of engine operations. A policy is a pure function from a request (who,
 * what, on which saga) to a verdict; the engine asks it before reading or writing anything, so
 * a refused operation writes nothing and says why.
 */

/** An engine operation that goes through the hook. */
export type EngineOperation = 'start' | 'read' | 'cancel' | 'resume' | 'undo' | 'retry';

/** The saga an operation is about: its owner as recorded by SagaStarted. */
export interface SagaOwnership {
  readonly sagaId: SagaId;
  readonly saga: string;
  /** The actor that started it; its tenant is the saga's tenant. */
  readonly owner: Actor;
}

/** What is asked: `actor` wants to do `operation` on `target`. */
export interface AuthorizationRequest {
  readonly operation: EngineOperation;
  readonly actor: Actor;
  /** For `start`, the saga about to be started (its owner is the starting actor). */
  readonly target: SagaOwnership;
}

/** A refusal: nothing was done. */
export interface AuthorizationFailure {
  readonly _tag: 'AuthorizationFailure';
  readonly operation: EngineOperation;
  readonly actorId: string;
  readonly sagaId: SagaId;
  readonly reason: string;
}

/** A policy: allow (right) or refuse with a reason (left). Must be pure and quick. */
export type AuthorizationPolicy = (
  request: AuthorizationRequest,
) => E.Either<AuthorizationFailure, void>;

/** The role that lets an actor act across tenants (an operator of the whole installation). */
export const ADMIN_ROLE = 'rewind:admin';

/** Builds the failure of a request, for policies. */
export function refuseRequest(
  request: AuthorizationRequest,
  reason: string,
): E.Either<AuthorizationFailure, void> {
  return E.left({
    _tag: 'AuthorizationFailure',
    operation: request.operation,
    actorId: request.actor.id,
    sagaId: request.target.sagaId,
    reason,
  });
}

/** Whether an actor may see the sagas of `tenant` under the default tenant policy. */
export function canActForTenant(actor: Actor, tenant: string | undefined): boolean {
  if (actor.roles?.includes(ADMIN_ROLE)) return true;
  return actor.tenant === tenant;
}

/**
 * The default policy: tenant scoping. An actor may read and steer the sagas of its own tenant
 * (an actor without a tenant, those without one); an actor with the role `rewind:admin` may act
 * for any tenant. Starting a saga for another tenant is refused the same way. Roles other than
 * `rewind:admin` are not looked at: narrow operations by role with a policy of your own,
 * composed with this one by {@link allPolicies}.
 */
export const tenantPolicy: AuthorizationPolicy = (request) => {
  const tenant = request.target.owner.tenant;
  if (canActForTenant(request.actor, tenant)) return E.right(undefined);
  const theirs =
    request.actor.tenant === undefined ? 'no tenant' : `tenant ${request.actor.tenant}`;
  const sagas = tenant === undefined ? 'sagas without a tenant' : `sagas of tenant ${tenant}`;
  return refuseRequest(
    request,
    `actor ${request.actor.id} (${theirs}) may not ${request.operation} ${sagas}`,
  );
};

/** A policy that allows what every one of `policies` allows; the first refusal wins. */
export function allPolicies(...policies: readonly AuthorizationPolicy[]): AuthorizationPolicy {
  return (request) => {
    for (const policy of policies) {
      const verdict = policy(request);
      if (E.isLeft(verdict)) return verdict;
    }
    return E.right(undefined);
  };
}

/** A sentence for a refusal. */
export function describeAuthorizationFailure(failure: AuthorizationFailure): string {
  return `not authorized: ${failure.operation} of saga ${failure.sagaId}: ${failure.reason}`;
}
