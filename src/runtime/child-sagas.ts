import * as E from 'fp-ts/lib/Either.js';

import type { StepBody, StepDefinition } from '../core/definition.js';
import type { EventMetadata, SagaEvent } from '../core/events.js';
import { describeHistoryFailure, replay } from '../core/evolve.js';
import { toRecordedFailure } from '../core/failure.js';
import { childSagaIdOf, type SagaId, sagaStreamName } from '../core/ids.js';
import { argsFor } from '../core/results.js';
import type { SagaState, StartedSagaState } from '../core/state.js';
import type { Clock } from '../ports/clock.js';
import { describeEventDecodeFailure, type EventStore } from '../ports/event-store.js';
import type { IdGenerator } from '../ports/ids.js';
import { ENGINE_VERSION } from '../version.js';
import { MAX_COMMAND_TRIES } from './operator-commands.js';
import { describeStartSagaFailure, newEventId, startSaga } from './start-saga.js';

/** What the child saga steps need. */
export interface ChildSagaDeps {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

type ChildBody = Extract<StepBody, { kind: 'child' }>;

/** The outputs of a completed saga's steps, by name: a child saga step's output. */
function outputsOf(state: StartedSagaState): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const [step, stepState] of Object.entries(state.steps)) {
    if (stepState.status === 'completed') outputs[step] = stepState.output;
  }
  return outputs;
}

/**
 * Starts the child saga of a child saga step whose start its parent has recorded, and returns
 * the parent's event that records the child (or the step's failure, if the child's input is
 * refused). The child's id is derived from the parent's, so a parent that crashed after
 * starting it finds the same child instead of starting a second one.
 */
export async function startChildSaga(
  deps: ChildSagaDeps,
  parent: StartedSagaState,
  step: StepDefinition<unknown, unknown> & { readonly body: ChildBody },
  attempt: number,
  causationId: string | null,
): Promise<SagaEvent[]> {
  const childSagaId = childSagaIdOf(parent.sagaId, step.name);
  const refuse = (reason: string): SagaEvent[] => {
    const message = `the input of child saga ${step.body.saga.name}: ${reason}`;
    const failure = { name: 'ChildSagaInputFailure', message };
    return [{ type: 'StepFailed', data: { step: step.name, attempt, failure, retryable: false } }];
  };
  let input: unknown;
  try {
    input = step.body.input(argsFor(parent, step));
  } catch (thrown) {
    return refuse(`its input function threw: ${toRecordedFailure(thrown).message}`);
  }
  const child = await startSaga(deps, step.body.saga, input, {
    actor: parent.actor,
    sagaId: childSagaId,
    correlationId: parent.correlationId,
    causationId,
    parent: { sagaId: parent.sagaId, step: step.name },
  });
  if (E.isLeft(child) && child.left._tag !== 'SagaAlreadyStartedFailure') {
    return refuse(describeStartSagaFailure(child.left));
  }
  const data = { step: step.name, attempt, childSagaId, saga: step.body.saga.name };
  return [{ type: 'ChildSagaStarted', data }];
}

/**
 * The child's state. A child whose history does not decode or fold is an error of the parent's
 * run (its job fails and is tried again), never taken for a child still running: nothing would
 * wake the parent.
 */
async function readChild(deps: ChildSagaDeps, childSagaId: SagaId): Promise<SagaState> {
  const events = await deps.store.readStream(sagaStreamName(childSagaId));
  if (E.isLeft(events)) {
    const reason = describeEventDecodeFailure(events.left);
    throw new Error(`child saga ${childSagaId} cannot be read: ${reason}`);
  }
  const state = replay(events.right);
  if (E.isLeft(state)) {
    const reason = describeHistoryFailure(state.left);
    throw new Error(`child saga ${childSagaId} does not fold: ${reason}`);
  }
  return state.right;
}

/** The parent's events for a child that has ended; none while it runs. */
export async function checkChildSaga(
  deps: ChildSagaDeps,
  step: string,
  attempt: number,
  childSagaId: SagaId,
): Promise<SagaEvent[]> {
  const child = await readChild(deps, childSagaId);
  switch (child?.status) {
    case 'completed':
      return [{ type: 'StepCompleted', data: { step, attempt, output: outputsOf(child) } }];
    case 'compensated':
    case 'failed': {
      const failure = {
        name: 'ChildSagaFailure',
        message: `child saga ${childSagaId} ended ${child.status}`,
      };
      return [{ type: 'StepFailed', data: { step, attempt, failure, retryable: false } }];
    }
    default:
      return [];
  }
}

/** The command a rolling-back parent sends its child, if the child still needs one. */
function commandForChild(child: SagaState, reason: string): SagaEvent | undefined {
  switch (child.status) {
    case 'completed':
      return child.undoRequested === undefined
        ? { type: 'SagaUndoRequested', data: { reason } }
        : undefined;
    case 'running':
      return child.cancelRequested === undefined
        ? { type: 'SagaCancelRequested', data: { reason } }
        : undefined;
    default:
      return undefined;
  }
}

/**
 * One move of the rollback of a child saga step: ask the child to undo itself (when it
 * completed) or to cancel (when it still runs), or, once it has ended rolled back, return the
 * parent's StepCompensated (or StepCompensationFailed). A child that was never started leaves
 * nothing to undo. Returns no events while the child is still rolling back; its end wakes the
 * parent.
 */
export async function compensateChildSaga(
  deps: ChildSagaDeps,
  parent: StartedSagaState,
  step: string,
  childSagaId: SagaId,
): Promise<SagaEvent[]> {
  for (let tries = 1; ; tries++) {
    const child = await readChild(deps, childSagaId);
    if (child.status === 'initial' || child.status === 'compensated') {
      return [{ type: 'StepCompensated', data: { step } }];
    }
    if (child.status === 'failed') {
      return [{ type: 'StepCompensationFailed', data: { step, failure: child.failure } }];
    }
    const command = commandForChild(child, `parent saga ${parent.sagaId} is rolling back`);
    if (!command) return [];
    const metadata: EventMetadata = {
      actor: parent.actor,
      correlationId: parent.correlationId,
      causationId: null,
      occurredAt: deps.clock.now().toISOString(),
      engineVersion: ENGINE_VERSION,
    };
    const recorded = { eventId: newEventId(deps.ids), metadata, event: command };
    const appended = await deps.store.appendToStream(
      sagaStreamName(childSagaId),
      [recorded],
      child.revision,
    );
    if (E.isRight(appended)) return [];
    // The child moved meanwhile (it wrote a step): look again, since only its end wakes the
    // parent and a child left uncancelled may never end.
    if (tries >= MAX_COMMAND_TRIES) {
      throw new Error(
        `could not send ${command.type} to child saga ${childSagaId}: it kept moving`,
      );
    }
  }
}
