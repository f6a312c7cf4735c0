import * as E from 'fp-ts/lib/Either.js';

import {
  type AuthorizationFailure,
  type AuthorizationPolicy,
  type EngineOperation,
  tenantPolicy,
} from '../audit/authorization.js';
import type { SagaDefinition } from '../core/definition.js';
import type { Actor, RecordedEvent } from '../core/events.js';
import { type HistoryFailure, replay } from '../core/evolve.js';
import { SagaId, sagaStreamName } from '../core/ids.js';
import type { SagaState } from '../core/state.js';
import type { ReadFailure } from '../ports/event-store.js';
import {
  type OperatorCommandFailure,
  type OperatorCommandResult,
  requestCancel,
  requestResume,
  requestUndo,
} from './operator-commands.js';
import type { Rewind } from './rewind.js';
import type { StartSagaFailure, StartSagaOptions } from './start-saga.js';

/** A saga with no events, or one that the policy does not let the actor read. */
export type AuthorizedReadFailure =
  | AuthorizationFailure
  | ReadFailure
  | HistoryFailure
  | { readonly _tag: 'SagaNotFoundFailure'; readonly sagaId: SagaId };

/**
 * The engine as one actor sees it: every operation (start, read, cancel, resume, undo) goes
 * through the authorization policy first, and a refused one reads or writes nothing more and
 * returns an `AuthorizationFailure` saying why. A thin wrapper over {@link Rewind}, which itself
 * does not check.
 *
 * @example
 * const asAlice = new AuthorizedRewind(rewind, { id: 'alice', tenant: 'acme' });
 * const history = await asAlice.history(sagaId); // Left(AuthorizationFailure) for globex's saga
 */
export class AuthorizedRewind {
  constructor(
    readonly rewind: Rewind,
    readonly actor: Actor,
    /** Default: {@link tenantPolicy}. */
    readonly policy: AuthorizationPolicy = tenantPolicy,
  ) {}

  /** Starts a saga as this actor; refused when the policy does not allow it. */
  async start<Input>(
    definition: SagaDefinition<Input>,
    input: unknown,
    options: Omit<StartSagaOptions, 'actor'> = {},
  ): Promise<E.Either<StartSagaFailure | AuthorizationFailure, { readonly sagaId: SagaId }>> {
    const sagaId = options.sagaId ?? this.rewind.ids.newId();
    if (!SagaId.is(sagaId)) return E.left({ _tag: 'InvalidSagaIdFailure', sagaId });
    const target = { sagaId, saga: definition.name, owner: this.actor };
    const verdict = this.policy({ operation: 'start', actor: this.actor, target });
    if (E.isLeft(verdict)) return verdict;
    return this.rewind.start(definition, input, { ...options, sagaId, actor: this.actor });
  }

  /** Every event of one saga, if the actor may read it. */
  async history(
    sagaId: SagaId,
  ): Promise<E.Either<AuthorizedReadFailure, readonly RecordedEvent[]>> {
    const events = await this.rewind.store.readStream(sagaStreamName(sagaId));
    if (E.isLeft(events)) return events;
    const verdict = this.#check('read', sagaId, events.right);
    return E.isLeft(verdict) ? verdict : events;
  }

  /** The saga's state after its first `upTo` events (default all), if the actor may read it. */
  async state(sagaId: SagaId, upTo?: number): Promise<E.Either<AuthorizedReadFailure, SagaState>> {
    const events = await this.history(sagaId);
    if (E.isLeft(events)) return events;
    return replay(upTo === undefined ? events.right : events.right.slice(0, upTo));
  }

  /** See {@link requestCancel}. */
  cancel(
    sagaId: SagaId,
    reason: string,
  ): Promise<E.Either<OperatorCommandFailure, OperatorCommandResult>> {
    return requestCancel(this.#deps(), sagaId, { actor: this.actor, reason });
  }

  /** See {@link requestResume}. */
  resume(
    sagaId: SagaId,
    payload: unknown,
  ): Promise<E.Either<OperatorCommandFailure, OperatorCommandResult>> {
    return requestResume(this.#deps(), sagaId, { actor: this.actor, payload });
  }

  /** See {@link requestUndo}. */
  undo(
    sagaId: SagaId,
    reason: string,
  ): Promise<E.Either<OperatorCommandFailure, OperatorCommandResult>> {
    return requestUndo(this.#deps(), sagaId, { actor: this.actor, reason });
  }

  #deps() {
    const { store, clock, ids } = this.rewind;
    return { store, clock, ids, policy: this.policy };
  }

  #check(
    operation: EngineOperation,
    sagaId: SagaId,
    events: readonly RecordedEvent[],
  ): E.Either<AuthorizedReadFailure, void> {
    const started = events[0];
    if (started?.event.type !== 'SagaStarted')
      return E.left({ _tag: 'SagaNotFoundFailure', sagaId });
    const target = { sagaId, saga: started.event.data.saga, owner: started.metadata.actor };
    return this.policy({ operation, actor: this.actor, target });
  }
}
