import * as E from 'fp-ts/lib/Either.js';

import { describeAuthorizationFailure, type EngineOperation } from '../audit/authorization.js';
import { authorizeSagaAccess, type SagaAccessFailure } from '../audit/saga-ownership.js';
import type { Actor } from '../core/events.js';
import type { SagaId } from '../core/ids.js';
import { describeEventDecodeFailure } from '../ports/event-store.js';
import type { SqlClient } from '../ports/sql.js';
import { type ActorOptions, resolveActor } from './cli-actor.js';
import { decodeArgument, SagaIdArgument } from './cli-arguments.js';
import { withDatabase } from './open-sql.js';
import { type CommandIo, type CommandResult, refuse } from './run-command.js';

/** A sentence for a saga that could not be accessed. */
export function describeSagaAccessFailure(failure: SagaAccessFailure): string {
  switch (failure._tag) {
    case 'SagaNotFoundFailure':
      return `saga ${failure.sagaId} has no events`;
    case 'AuthorizationFailure':
      return describeAuthorizationFailure(failure);
    case 'EventDecodeFailure':
      return describeEventDecodeFailure(failure);
  }
}

/** What a command on one saga gets once access is granted. */
export interface SagaAccess {
  readonly sql: SqlClient;
  readonly sagaId: SagaId;
  readonly actor: Actor;
}

/**
 * The prelude of every command on one saga: decodes the id and the actor, opens the database
 * and asks the authorization policy, so a refused command reads and writes nothing else.
 */
export async function withSagaAccess(
  io: CommandIo,
  command: string,
  rawSagaId: string,
  options: ActorOptions & { readonly operation: EngineOperation },
  work: (access: SagaAccess) => Promise<CommandResult>,
): Promise<CommandResult> {
  const sagaId = decodeArgument(SagaIdArgument, `${command}: <sagaId>`, rawSagaId);
  if (E.isLeft(sagaId)) return refuse(sagaId.left, 2);
  const actor = resolveActor(options, options.operation !== 'read');
  if (E.isLeft(actor)) return refuse(`${command}: ${actor.left}`, 2);

  return withDatabase(io, async (sql) => {
    const access = await authorizeSagaAccess(sql, sagaId.right, actor.right, options.operation);
    if (E.isLeft(access)) {
      const exitCode = access.left._tag === 'AuthorizationFailure' ? 3 : 1;
      return refuse(`${command}: ${describeSagaAccessFailure(access.left)}`, exitCode);
    }
    return work({ sql, sagaId: sagaId.right, actor: actor.right });
  });
}
