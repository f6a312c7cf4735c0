import * as E from 'fp-ts/lib/Either.js';

import { createSagaJob } from '../../projections/job-feeder.js';
import {
  type AuthorizationFailure,
  type AuthorizationPolicy,
  type EngineOperation,
  tenantPolicy,
} from '../audit/authorization.js';
import type { Actor, EventMetadata, RecordedEvent, SagaEvent } from '../core/events.js';
import { describeHistoryFailure, type HistoryFailure, replay } from '../core/evolve.js';
import { type SagaId, sagaStreamName } from '../core/ids.js';
import type { SagaState, StartedSagaState } from '../core/state.js';
import { encodeValue, type UnsupportedValueFailure } from '../core/values.js';
import type { Clock } from '../ports/clock.js';
import type { EventStore, ReadFailure, VersionConflictFailure } from '../ports/event-store.js';
import { describeEventDecodeFailure } from '../ports/event-store.js';
import type { IdGenerator } from '../ports/ids.js';
import type { SqlExecutor } from '../ports/sql.js';
import { insertJobs } from '../queue/insert-jobs.js';
import { ENGINE_VERSION } from '../version.js';
import { newEventId } from './start-saga.js';

/**
 * Operator commands: cancel, resume, undo and retry a saga. Each reads the saga, asks the
 * authorization policy, checks that the command makes sense in the saga's state, and appends the
 * command's event at the stream's current revision with the operator as its actor. A concurrent
 * append (a worker recording a step) makes the append conflict; the command then reads again
 * and tries again, at most {@link MAX_COMMAND_TRIES} times. A refused command writes nothing.
 */

/** Tries of one command against a stream that keeps moving. */
export const MAX_COMMAND_TRIES = 5;

/** What the commands need. */
export interface OperatorCommandDeps {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Default: {@link tenantPolicy}. */
  readonly policy?: AuthorizationPolicy;
}

/** The command does not apply to the saga as it stands; nothing was written. */
export interface CommandNotApplicableFailure {
  readonly _tag: 'CommandNotApplicableFailure';
  readonly operation: EngineOperation;
  readonly sagaId: SagaId;
  readonly status: SagaState['status'];
  readonly reason: string;
}

/** Why an operator command did nothing. */
export type OperatorCommandFailure =
  | { readonly _tag: 'SagaNotFoundFailure'; readonly sagaId: SagaId }
  | AuthorizationFailure
  | CommandNotApplicableFailure
  | ReadFailure
  | HistoryFailure
  | VersionConflictFailure
  | UnsupportedValueFailure;

/** What a command did. */
export interface OperatorCommandResult {
  readonly sagaId: SagaId;
  /** The revision of the command's event (for retry: the revision it woke the saga at). */
  readonly revision: bigint;
  /** Tries it took: more than 1 when workers appended meanwhile. */
  readonly tries: number;
}

/** The event a command appends, or why it does not apply; decided from the current state. */
type CommandEvent = (state: StartedSagaState) => E.Either<string, SagaEvent>;

/** Reads, authorizes and decides a command without writing. */
async function prepareCommand(
  deps: OperatorCommandDeps,
  sagaId: SagaId,
  actor: Actor,
  operation: EngineOperation,
): Promise<
  E.Either<OperatorCommandFailure, { events: readonly RecordedEvent[]; state: StartedSagaState }>
> {
  const events = await deps.store.readStream(sagaStreamName(sagaId));
  if (E.isLeft(events)) return events;
  const state = replay(events.right);
  if (E.isLeft(state)) return state;
  if (state.right.status === 'initial') return E.left({ _tag: 'SagaNotFoundFailure', sagaId });

  const { saga, actor: owner } = state.right;
  const policy = deps.policy ?? tenantPolicy;
  const verdict = policy({ operation, actor, target: { sagaId, saga, owner } });
  if (E.isLeft(verdict)) return verdict;
  return E.right({ events: events.right, state: state.right });
}

function notApplicable(
  operation: EngineOperation,
  state: StartedSagaState,
  reason: string,
): CommandNotApplicableFailure {
  const { sagaId, status } = state;
  return { _tag: 'CommandNotApplicableFailure', operation, sagaId, status, reason };
}

async function appendCommand(
  deps: OperatorCommandDeps,
  sagaId: SagaId,
  actor: Actor,
  operation: EngineOperation,
  commandEvent: CommandEvent,
): Promise<E.Either<OperatorCommandFailure, OperatorCommandResult>> {
  let conflict: VersionConflictFailure | undefined;
  for (let tries = 1; tries <= MAX_COMMAND_TRIES; tries++) {
    const prepared = await prepareCommand(deps, sagaId, actor, operation);
    if (E.isLeft(prepared)) return prepared;
    const { state } = prepared.right;
    const event = commandEvent(state);
    if (E.isLeft(event)) return E.left(notApplicable(operation, state, event.left));

    const metadata: EventMetadata = {
      actor,
      correlationId: state.correlationId,
      causationId: null,
      occurredAt: deps.clock.now().toISOString(),
      engineVersion: ENGINE_VERSION,
    };
    const newEvent = { eventId: newEventId(deps.ids), event: event.right, metadata };
    const appended = await deps.store.appendToStream(
      sagaStreamName(sagaId),
      [newEvent],
      state.revision,
    );
    if (E.isRight(appended)) {
      return E.right({ sagaId, revision: appended.right.nextExpectedRevision, tries });
    }
    // A worker appended meanwhile: the command is decided again on the newer state.
    conflict = appended.left;
  }
  return E.left(conflict ?? { _tag: 'SagaNotFoundFailure', sagaId });
}

function haltedStep(state: StartedSagaState): string | undefined {
  return Object.entries(state.steps).find(([, step]) => step.status === 'halted')?.[0];
}

/** Asks a running saga to roll back: its completed steps are undone. Refused once it ended. */
export function requestCancel(
  deps: OperatorCommandDeps,
  sagaId: SagaId,
  options: { readonly actor: Actor; readonly reason: string },
): Promise<E.Either<OperatorCommandFailure, OperatorCommandResult>> {
  return appendCommand(deps, sagaId, options.actor, 'cancel', (state) => {
    if (state.status !== 'running') return E.left(`a ${state.status} saga cannot be cancelled`);
    if (state.cancelRequested !== undefined) return E.left('a cancel was requested already');
    return E.right({ type: 'SagaCancelRequested', data: { reason: options.reason } });
  });
}

/**
 * Resumes a halted saga: `payload` becomes the halted step's output. Refused when no step is
 * halted, or the payload cannot be stored.
 */
export async function requestResume(
  deps: OperatorCommandDeps,
  sagaId: SagaId,
  options: { readonly actor: Actor; readonly payload: unknown },
): Promise<E.Either<OperatorCommandFailure, OperatorCommandResult>> {
  const storable = encodeValue(options.payload, 'payload');
  if (E.isLeft(storable)) return storable;
  return appendCommand(deps, sagaId, options.actor, 'resume', (state) => {
    if (state.status !== 'running') return E.left(`a ${state.status} saga cannot be resumed`);
    if (haltedStep(state) === undefined) return E.left('no step is halted');
    return E.right({ type: 'SagaResumeRequested', data: { payload: options.payload } });
  });
}

/** Asks a completed saga to undo itself: every completed step compensated, newest first. */
export function requestUndo(
  deps: OperatorCommandDeps,
  sagaId: SagaId,
  options: { readonly actor: Actor; readonly reason: string },
): Promise<E.Either<OperatorCommandFailure, OperatorCommandResult>> {
  return appendCommand(deps, sagaId, options.actor, 'undo', (state) => {
    if (state.status !== 'completed') {
      return E.left(`only a completed saga can be undone (cancel a running one)`);
    }
    if (state.undoRequested !== undefined) return E.left('an undo was requested already');
    return E.right({ type: 'SagaUndoRequested', data: { reason: options.reason } });
  });
}

/** What {@link requestRetry} needs beyond the other commands: the queue's database. */
export interface RetryCommandDeps extends OperatorCommandDeps {
  readonly sql: SqlExecutor;
}

/**
 * Retries a saga that is not moving: puts a job for it on the queue now, so a worker replays its
 * stream and carries on (in-doubt attempts are retried or failed by their policy, a due retry
 * runs). For when the saga's job was lost or discarded. It appends no event: the stream already
 * says what is due, and the job is derived data. One retry per revision: a second retry before
 * the saga moved is reported as done with the first.
 *
 * A saga that ended SagaFailed (an undo failed for good) gets SagaRetryRequested: once its
 * operator fixed the cause, its failed undos run again, then the rest of its rollback. A
 * completed or compensated saga has nothing to retry.
 */
export async function requestRetry(
  deps: RetryCommandDeps,
  sagaId: SagaId,
  options: { readonly actor: Actor },
): Promise<E.Either<OperatorCommandFailure, OperatorCommandResult>> {
  const prepared = await prepareCommand(deps, sagaId, options.actor, 'retry');
  if (E.isLeft(prepared)) return prepared;
  const { state } = prepared.right;
  if (state.status === 'failed') {
    return appendCommand(deps, sagaId, options.actor, 'retry', (current) =>
      current.status === 'failed'
        ? E.right({
            type: 'SagaRetryRequested',
            data: { reason: 'retry requested by an operator' },
          })
        : E.left(`a ${current.status} saga has no failed undo to retry`),
    );
  }
  if (state.status === 'completed' || state.status === 'compensated') {
    return E.left(notApplicable('retry', state, `a ${state.status} saga has nothing to retry`));
  }

  const uniqueKey = `saga-retry:${sagaId}:${state.revision}`;
  await insertJobs(deps.sql, [
    createSagaJob({ sagaId, actor: options.actor, cause: 'OperatorRetry', uniqueKey }),
  ]);
  return E.right({ sagaId, revision: state.revision, tries: 1 });
}

/** A sentence for a command failure. */
export function describeOperatorCommandFailure(failure: OperatorCommandFailure): string {
  switch (failure._tag) {
    case 'SagaNotFoundFailure':
      return `saga ${failure.sagaId} has no events`;
    case 'AuthorizationFailure':
      return `not authorized: ${failure.operation} of saga ${failure.sagaId}: ${failure.reason}`;
    case 'CommandNotApplicableFailure': {
      const { operation, sagaId, status, reason } = failure;
      return `cannot ${operation} saga ${sagaId} (${status}): ${reason}`;
    }
    case 'EventDecodeFailure':
      return describeEventDecodeFailure(failure);
    case 'HistoryFailure':
      return describeHistoryFailure(failure);
    case 'VersionConflictFailure':
      return `saga ${failure.streamName} kept changing: gave up after ${MAX_COMMAND_TRIES} tries`;
    case 'UnsupportedValueFailure':
      return `${failure.path}: ${failure.reason}`;
  }
}
