import * as E from 'fp-ts/lib/Either.js';
import { cancellationFailure } from './engine-failures.js';
import type { SagaEvent, SagaEventOf, StreamEvent } from './events.js';
import {
  initialSagaState,
  type SagaFacts,
  type SagaState,
  type StartedSagaState,
  type StepState,
  stepStateOf,
} from './state.js';

/**
 * An event that cannot follow the state it was applied to. Only the engine writes saga
 * streams, so this means a broken invariant (an edited store, a bug), not a user error.
 */
export class InvalidTransitionError extends Error {
  readonly code = 'INVALID_TRANSITION';
  constructor(
    readonly eventType: string,
    readonly revision: bigint,
    readonly detail: string,
  ) {
    super(`event ${eventType} at revision ${revision} cannot apply: ${detail}`);
  }
}

/** A sentence for a history that does not fold, naming the event. */
export function describeHistoryFailure(failure: HistoryFailure): string {
  const where = `event ${failure.revision} (${failure.eventType})`;
  return `${where} does not fit the history: ${failure.detail}`;
}

function isInvalidTransition(error: unknown): error is InvalidTransitionError {
  return error instanceof Error && 'code' in error && error.code === 'INVALID_TRANSITION';
}

/** A history that does not fold: which event, and why. */
export interface HistoryFailure {
  readonly _tag: 'HistoryFailure';
  readonly revision: bigint;
  readonly eventType: string;
  readonly detail: string;
}

type Started = StartedSagaState;

function withStep(state: Started, step: string, next: StepState): SagaFacts {
  return { ...state, steps: { ...state.steps, [step]: next } };
}

function requireStep(
  state: Started,
  recorded: StreamEvent,
  step: string,
  allowed: readonly StepState['status'][],
): StepState {
  const current = stepStateOf(state, step);
  if (!allowed.includes(current.status)) {
    throw new InvalidTransitionError(
      recorded.event.type,
      recorded.revision,
      `step ${step} is ${current.status}, expected ${allowed.join(' or ')}`,
    );
  }
  return current;
}

function requireStatus(state: Started, recorded: StreamEvent, allowed: readonly string[]) {
  if (!allowed.includes(state.status)) {
    throw new InvalidTransitionError(
      recorded.event.type,
      recorded.revision,
      `saga is ${state.status}, expected ${allowed.join(' or ')}`,
    );
  }
}

function startSaga(recorded: StreamEvent, event: SagaEventOf<'SagaStarted'>): SagaState {
  const { data } = event;
  return {
    status: 'running',
    sagaId: data.sagaId,
    saga: data.saga,
    version: data.version,
    definitionHash: data.definitionHash,
    input: data.input,
    actor: recorded.metadata.actor,
    correlationId: recorded.metadata.correlationId,
    startedAt: recorded.metadata.occurredAt,
    steps: {},
    completionOrder: [],
    firstFailure: undefined,
    cancelRequested: undefined,
    undoRequested: undefined,
    resumePayload: undefined,
    parent: data.parent,
    compensationRetries: {},
    revision: recorded.revision,
    updatedAt: recorded.metadata.occurredAt,
  };
}

function interruptionsOf(current: StepState): number {
  return current.status === 'running' || current.status === 'retryScheduled'
    ? current.interruptions
    : 0;
}

function complete(state: Started, step: string, next: StepState): Started {
  return {
    ...state,
    ...withStep(state, step, next),
    completionOrder: [...state.completionOrder, step],
  };
}

function applyStepEvent(state: Started, recorded: StreamEvent, event: SagaEvent): SagaState {
  const at = recorded.metadata.occurredAt;
  switch (event.type) {
    case 'StepStarted': {
      requireStatus(state, recorded, ['running']);
      const { step, attempt, idempotencyKey } = event.data;
      const current = requireStep(state, recorded, step, ['pending', 'running', 'retryScheduled']);
      const interruptions = interruptionsOf(current);
      const next: StepState = {
        status: 'running',
        attempt,
        idempotencyKey,
        startedAt: at,
        interruptions,
      };
      return { ...state, ...withStep(state, step, next) };
    }
    case 'StepCompleted': {
      const { step, attempt, output } = event.data;
      const current = requireStep(state, recorded, step, ['running', 'halted', 'awaitingChild']);
      const next: StepState = {
        status: 'completed',
        attempt,
        output,
        completedAt: at,
        recovered: false,
      };
      // A halted step completes with the resume payload, which is then used up.
      const resumePayload = current.status === 'halted' ? undefined : state.resumePayload;
      return { ...complete(state, step, next), resumePayload };
    }
    case 'StepRecovered': {
      requireStep(state, recorded, event.data.step, ['running']);
      const { step, attempt, output } = event.data;
      const next: StepState = {
        status: 'completed',
        attempt,
        output,
        completedAt: at,
        recovered: true,
      };
      return complete(state, step, next);
    }
    case 'StepFailed': {
      requireStep(state, recorded, event.data.step, ['running', 'awaitingChild']);
      const { step, attempt, failure } = event.data;
      const facts = withStep(state, step, { status: 'failed', attempt, failure });
      // A retry, if any, follows in the next event; until then this counts as the first failure
      // only if it is not retryable.
      const firstFailure =
        state.firstFailure ?? (event.data.retryable ? undefined : { step, failure });
      return { ...state, ...facts, firstFailure };
    }
    case 'StepRetryScheduled': {
      requireStep(state, recorded, event.data.step, ['failed']);
      const { step, attempt, dueAt } = event.data;
      const next = { status: 'retryScheduled', attempt, dueAt, interruptions: 0 } as const;
      return { ...state, ...withStep(state, step, next) };
    }
    case 'StepInterrupted': {
      const current = requireStep(state, recorded, event.data.step, ['running']);
      const interruptions = interruptionsOf(current) + 1;
      const next = {
        status: 'retryScheduled',
        attempt: event.data.attempt + 1,
        dueAt: at,
        interruptions,
      } as const;
      return { ...state, ...withStep(state, event.data.step, next) };
    }
    case 'SagaHalted': {
      requireStep(state, recorded, event.data.step, ['running']);
      const { step, attempt, reason } = event.data;
      const next = { status: 'halted', attempt, reason, startedAt: at } as const;
      return { ...state, ...withStep(state, step, next) };
    }
    case 'ChildSagaStarted': {
      requireStep(state, recorded, event.data.step, ['running']);
      const { step, attempt, childSagaId } = event.data;
      const next = { status: 'awaitingChild', attempt, childSagaId, startedAt: at } as const;
      return { ...state, ...withStep(state, step, next) };
    }
    case 'StepSkipped': {
      requireStep(state, recorded, event.data.step, ['pending']);
      const next = { status: 'skipped', reason: event.data.reason } as const;
      return { ...state, ...withStep(state, event.data.step, next) };
    }
    default:
      return applySagaEvent(state, recorded, event);
  }
}

function withoutRetry(state: Started, step: string): Pick<SagaFacts, 'compensationRetries'> {
  const { [step]: _done, ...compensationRetries } = state.compensationRetries;
  return { compensationRetries };
}

/** A stuck saga's rollback, reopened: its failed undos are due again, as first tries. */
function reopenRollback(state: Started & { readonly status: 'failed' }, at: string): SagaState {
  const steps: Record<string, StepState> = { ...state.steps };
  for (const [name, step] of Object.entries(state.steps)) {
    if (step.status !== 'compensationFailed') continue;
    steps[name] =
      step.undoing === 'completed'
        ? {
            status: 'completed',
            attempt: step.attempt,
            output: step.output,
            completedAt: at,
            recovered: false,
          }
        : { status: 'failed', attempt: step.attempt, failure: step.failure };
  }
  const reason = state.reason ?? { step: null, failure: state.failure };
  return { ...state, status: 'compensating', reason, steps, compensationRetries: {} };
}

function outputOf(current: StepState): unknown {
  return current.status === 'completed' ? current.output : undefined;
}

function applySagaEvent(state: Started, recorded: StreamEvent, event: SagaEvent): SagaState {
  switch (event.type) {
    case 'CompensationStarted': {
      // A completed saga rolls back only when asked to undo it.
      requireStatus(state, recorded, state.undoRequested ? ['running', 'completed'] : ['running']);
      const reason = { step: event.data.step, failure: event.data.failure };
      return { ...state, status: 'compensating', reason };
    }
    case 'StepCompensated': {
      const current = requireStep(state, recorded, event.data.step, ['completed', 'failed']);
      const next = { status: 'compensated', output: outputOf(current) } as const;
      return {
        ...state,
        ...withStep(state, event.data.step, next),
        ...withoutRetry(state, event.data.step),
      };
    }
    case 'StepCompensationRetryScheduled': {
      requireStep(state, recorded, event.data.step, ['completed', 'failed']);
      const { step, attempt, dueAt } = event.data;
      const compensationRetries = {
        ...state.compensationRetries,
        [step]: { attempt: attempt + 1, dueAt },
      };
      return { ...state, compensationRetries };
    }
    case 'StepCompensationFailed': {
      const current = requireStep(state, recorded, event.data.step, ['completed', 'failed']);
      const next = {
        status: 'compensationFailed',
        output: outputOf(current),
        failure: event.data.failure,
        undoing: current.status === 'completed' ? 'completed' : 'failed',
        attempt: 'attempt' in current ? current.attempt : 1,
      } as const;
      return {
        ...state,
        ...withStep(state, event.data.step, next),
        ...withoutRetry(state, event.data.step),
      };
    }
    case 'SagaCompleted':
      requireStatus(state, recorded, ['running']);
      return { ...state, status: 'completed' };
    case 'SagaCompensated':
      if (state.status !== 'compensating') {
        throw new InvalidTransitionError(event.type, recorded.revision, 'saga is not compensating');
      }
      return { ...state, status: 'compensated' };
    case 'SagaFailed': {
      requireStatus(state, recorded, ['running', 'compensating']);
      const reason = state.status === 'compensating' ? state.reason : undefined;
      return { ...state, status: 'failed', reason, failure: event.data.failure };
    }
    // Operator commands may arrive in any state: they are requests, and `decide` acts on them
    // only where they make sense (a cancel of a completed saga does nothing).
    case 'SagaCancelRequested': {
      // The cancel is the reason of the rollback unless a step already failed for good; a step
      // that fails because the cancel aborted it does not replace it.
      const firstFailure =
        state.firstFailure ??
        (state.status === 'running'
          ? { step: null, failure: cancellationFailure(event.data.reason) }
          : undefined);
      return {
        ...state,
        cancelRequested: state.cancelRequested ?? event.data.reason,
        firstFailure,
      };
    }
    case 'SagaResumeRequested':
      return { ...state, resumePayload: { payload: event.data.payload } };
    case 'SagaUndoRequested':
      return { ...state, undoRequested: state.undoRequested ?? event.data.reason };
    case 'SagaRetryRequested':
      return state.status === 'failed'
        ? reopenRollback(state, recorded.metadata.occurredAt)
        : state;
    case 'SagaStarted':
      throw new InvalidTransitionError(event.type, recorded.revision, 'saga already started');
    default:
      throw new InvalidTransitionError(event.type, recorded.revision, 'not a saga-level event');
  }
}

/**
 * Folds one event into a saga's state. Pure and total over valid histories; an impossible
 * history throws {@link InvalidTransitionError}.
 */
export function evolve(state: SagaState, recorded: StreamEvent): SagaState {
  const { event } = recorded;
  if (state.status === 'initial') {
    if (event.type !== 'SagaStarted') {
      throw new InvalidTransitionError(event.type, recorded.revision, 'saga has not started');
    }
    return startSaga(recorded, event);
  }
  const next = applyStepEvent(state, recorded, event);
  if (next.status === 'initial') return next;
  return { ...next, revision: recorded.revision, updatedAt: recorded.metadata.occurredAt };
}

/** Folds a whole history, from the initial state or from `from`. */
export function replay(
  events: readonly StreamEvent[],
  from: SagaState = initialSagaState,
): E.Either<HistoryFailure, SagaState> {
  try {
    return E.right(events.reduce(evolve, from));
  } catch (error) {
    if (isInvalidTransition(error)) {
      return E.left({
        _tag: 'HistoryFailure',
        revision: error.revision,
        eventType: error.eventType,
        detail: error.detail,
      });
    }
    throw error;
  }
}
