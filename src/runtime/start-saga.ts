import * as E from 'fp-ts/lib/Either.js';

import { describeDecodeErrors } from '../core/decode-failure.js';
import type { SagaDefinition } from '../core/definition.js';
import type { Actor, EventMetadata, NewEvent, ParentRef } from '../core/events.js';
import { EventId, SagaId, sagaStreamName } from '../core/ids.js';
import { encodeValue, type UnsupportedValueFailure } from '../core/values.js';
import type { Clock } from '../ports/clock.js';
import type { EventStore } from '../ports/event-store.js';
import type { IdGenerator } from '../ports/ids.js';
import { ENGINE_VERSION } from '../version.js';

/** The input did not decode with the definition's codec. */
export interface InputDecodeFailure {
  readonly _tag: 'InputDecodeFailure';
  readonly saga: string;
  /** Path of the bad field, such as `input.items[0].quantity`. */
  readonly path: string;
  readonly message: string;
}

/** A saga with this id exists already; nothing was written. */
export interface SagaAlreadyStartedFailure {
  readonly _tag: 'SagaAlreadyStartedFailure';
  readonly sagaId: SagaId;
}

export type StartSagaFailure =
  | InputDecodeFailure
  | UnsupportedValueFailure
  | SagaAlreadyStartedFailure
  | { readonly _tag: 'InvalidSagaIdFailure'; readonly sagaId: string };

/** Options of {@link startSaga}. */
export interface StartSagaOptions {
  /** Who starts the saga; carried by every event and job of it. */
  readonly actor: Actor;
  /** The saga's id. Default: a new UUID. Starting twice with one id is refused. */
  readonly sagaId?: string;
  /** Default: the saga id. Children of the saga share it. */
  readonly correlationId?: string;
  /** The event or request that caused the start. Default: null. */
  readonly causationId?: string | null;
  /** For a child saga: the parent saga and its step, woken when the child ends. */
  readonly parent?: ParentRef;
}

/** What {@link startSaga} needs. */
export interface StartSagaDeps {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

function decodeSagaId(raw: string): E.Either<StartSagaFailure, SagaId> {
  return SagaId.is(raw) ? E.right(raw) : E.left({ _tag: 'InvalidSagaIdFailure', sagaId: raw });
}

function decodeInput<Input>(
  definition: SagaDefinition<Input>,
  input: unknown,
): E.Either<StartSagaFailure, unknown> {
  const decoded = definition.input.decode(input);
  if (E.isLeft(decoded)) {
    const { path, message } = describeDecodeErrors(decoded.left);
    return E.left({
      _tag: 'InputDecodeFailure',
      saga: definition.name,
      path: path === '' ? 'input' : `input.${path}`,
      message,
    });
  }
  const storable = encodeValue(decoded.right, 'input');
  return E.isLeft(storable) ? storable : E.right(decoded.right);
}

/**
 * Starts a saga: validates the input and appends SagaStarted to the saga's new stream. That is
 * all; the projection turns the event into a job and a worker runs the steps. A refused input
 * writes nothing.
 */
export async function startSaga<Input>(
  deps: StartSagaDeps,
  definition: SagaDefinition<Input>,
  input: unknown,
  options: StartSagaOptions,
): Promise<E.Either<StartSagaFailure, { readonly sagaId: SagaId }>> {
  const sagaId = decodeSagaId(options.sagaId ?? deps.ids.newId());
  if (E.isLeft(sagaId)) return sagaId;
  const decoded = decodeInput(definition, input);
  if (E.isLeft(decoded)) return decoded;

  const metadata: EventMetadata = {
    actor: options.actor,
    correlationId: options.correlationId ?? sagaId.right,
    causationId: options.causationId ?? null,
    occurredAt: deps.clock.now().toISOString(),
    engineVersion: ENGINE_VERSION,
  };
  const started: NewEvent = {
    eventId: newEventId(deps.ids),
    metadata,
    event: {
      type: 'SagaStarted',
      data: {
        sagaId: sagaId.right,
        saga: definition.name,
        version: definition.version,
        definitionHash: definition.hash,
        input: decoded.right,
        ...(options.parent ? { parent: options.parent } : {}),
      },
    },
  };

  const appended = await deps.store.appendToStream(
    sagaStreamName(sagaId.right),
    [started],
    'no_stream',
  );
  if (E.isLeft(appended))
    return E.left({ _tag: 'SagaAlreadyStartedFailure', sagaId: sagaId.right });
  return E.right({ sagaId: sagaId.right });
}

/** A new random event id. */
export function newEventId(ids: IdGenerator): EventId {
  const id = ids.newId();
  if (!EventId.is(id)) throw new Error('the id generator returned an empty id');
  return id;
}

/** A sentence for a start failure, naming what and where. */
export function describeStartSagaFailure(failure: StartSagaFailure): string {
  switch (failure._tag) {
    case 'InputDecodeFailure':
      return `saga ${failure.saga}: ${failure.path}: ${failure.message}`;
    case 'UnsupportedValueFailure':
      return `${failure.path}: ${failure.reason}`;
    case 'SagaAlreadyStartedFailure':
      return `saga ${failure.sagaId} has already been started`;
    case 'InvalidSagaIdFailure':
      return `saga id "${failure.sagaId}" is not valid: it must not be empty`;
  }
}
