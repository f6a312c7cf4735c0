import * as E from 'fp-ts/lib/Either.js';

import type { RecordedEvent, SagaEvent, SagaEventOf } from './events.js';
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
  recorded: RecordedEvent,
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

function requireStatus(state: Started, recorded: RecordedEvent, allowed: readonly string[]) {
  if (!allowed.includes(state.status)) {
    throw new InvalidTransitionError(
      recorded.event.type,
      recorded.revision,
      `saga is ${state.status}, expected ${allowed.join(' or ')}`,
    );
  }
}

function startSaga(recorded: RecordedEvent, event: SagaEventOf<'SagaStarted'>): SagaState {
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
    revision: recorded.revision,
    updatedAt: recorded.metadata.occurredAt,
  };
}

function applyStepEvent(state: Started, recorded: RecordedEvent, event: SagaEvent): SagaState {
  const at = recorded.metadata.occurredAt;
  switch (event.type) {
    case 'StepStarted': {
      requireStatus(state, recorded, ['running']);
      requireStep(state, recorded, event.data.step, ['pending', 'running', 'retryScheduled']);
      const { step, attempt, idempotencyKey } = event.data;
      const next = { status: 'running', attempt, idempotencyKey, startedAt: at } as const;
      return { ...state, ...withStep(state, step, next) };
    }
    case 'StepCompleted': {
      requireStep(state, recorded, event.data.step, ['running']);
      const { step, attempt, output } = event.data;
      const next = { status: 'completed', attempt, output, completedAt: at } as const;
      return {
        ...state,
        ...withStep(state, step, next),
        completionOrder: [...state.completionOrder, step],
      };
    }
    case 'StepFailed': {
      requireStep(state, recorded, event.data.step, ['running']);
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
      return { ...state, ...withStep(state, step, { status: 'retryScheduled', attempt, dueAt }) };
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

function applySagaEvent(state: Started, recorded: RecordedEvent, event: SagaEvent): SagaState {
  switch (event.type) {
    case 'CompensationStarted': {
      requireStatus(state, recorded, ['running']);
      const reason = { step: event.data.step, failure: event.data.failure };
      return { ...state, status: 'compensating', reason };
    }
    case 'StepCompensated': {
      const current = requireStep(state, recorded, event.data.step, ['completed']);
      const output = current.status === 'completed' ? current.output : undefined;
      return { ...state, ...withStep(state, event.data.step, { status: 'compensated', output }) };
    }
    case 'StepCompensationFailed': {
      const current = requireStep(state, recorded, event.data.step, ['completed']);
      const output = current.status === 'completed' ? current.output : undefined;
      const next = { status: 'compensationFailed', output, failure: event.data.failure } as const;
      return { ...state, ...withStep(state, event.data.step, next) };
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
    case 'SagaCancelRequested':
      return { ...state, cancelRequested: state.cancelRequested ?? event.data.reason };
    case 'SagaResumeRequested':
      return state;
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
export function evolve(state: SagaState, recorded: RecordedEvent): SagaState {
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
  events: readonly RecordedEvent[],
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
