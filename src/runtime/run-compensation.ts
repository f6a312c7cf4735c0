import type { Decision } from '../core/decide.js';
import { definitionOfStep } from '../core/decide.js';
import {
  type AnySagaDefinition,
  DEFAULT_COMPENSATE_RETRY,
  type StepContext,
} from '../core/definition.js';
import type { SagaEvent } from '../core/events.js';
import { isMarkedNonRetryable, toRecordedFailure } from '../core/failure.js';
import { childSagaIdOf } from '../core/ids.js';
import { computeRetryDelayMs, maxAttemptsOf, type RetryPolicy } from '../core/retry.js';
import { type StartedSagaState, stepStateOf } from '../core/state.js';
import { type ChildSagaDeps, compensateChildSaga } from './child-sagas.js';
import type { SagaNotification } from './saga-notification.js';
import { runInStepContext } from './step-context.js';

/** What a compensation needs besides the saga. */
export interface CompensationDeps extends ChildSagaDeps {
  readonly random?: () => number;
  readonly notify?: (notification: SagaNotification) => void;
}

/** The events that record one try of an undo, and when it ended. */
export interface UndoOutcome {
  readonly events: SagaEvent[];
  readonly at: Date;
}

/**
 * Runs one try of one undo: a completed step's `compensate`, a failed attempt's
 * `compensateAttempt`, or a move in a child saga's rollback. Returns the events to record, or
 * `waiting` while a child saga is still rolling back (its end wakes the parent).
 *
 * Compensations run in a scope of their own: cancelling the saga must not cancel its undo
 * (BC-12), so `ctx.signal` is one that never fires.
 */
export async function runCompensation(
  deps: CompensationDeps,
  definition: AnySagaDefinition,
  state: StartedSagaState,
  decision: Extract<Decision, { type: 'compensateStep' }>,
  stepContext: StepContext,
): Promise<UndoOutcome | 'waiting'> {
  const { step: name, undo } = decision;
  const step = definitionOfStep(definition, name);
  if (!step) throw new Error(`saga ${definition.name} has no step ${name}`);
  const { body } = step;
  if (body.kind === 'child') {
    const events = await compensateChildSaga(deps, state, name, childSagaIdOf(state.sagaId, name));
    return events.length === 0 ? 'waiting' : { events, at: deps.clock.now() };
  }

  const recorded = stepStateOf(state, name);
  const ctx = {
    ...stepContext,
    idempotencyKey: `${state.sagaId}:${name}:compensate`,
    stepIdempotencyKey: `${state.sagaId}:${name}`,
    input: state.input,
  };
  const work = async () => {
    if (undo === 'attempt') {
      if (body.kind === 'task' && body.compensateAttempt) await body.compensateAttempt(ctx);
      return;
    }
    await body.compensate?.(recorded.status === 'completed' ? recorded.output : undefined, ctx);
  };
  try {
    await runInStepContext(ctx, work);
  } catch (thrown) {
    return undoFailed(deps, state, ctx, body.compensateRetry, thrown);
  }
  ctx.logger.debug('step compensated');
  return { events: [{ type: 'StepCompensated', data: { step: name } }], at: deps.clock.now() };
}

function undoFailed(
  deps: CompensationDeps,
  state: StartedSagaState,
  ctx: StepContext,
  policy: RetryPolicy | undefined,
  thrown: unknown,
): UndoOutcome {
  const { step, attempt, logger } = ctx;
  const failure = toRecordedFailure(thrown);
  const retryPolicy = policy ?? DEFAULT_COMPENSATE_RETRY;
  const at = deps.clock.now();
  deps.notify?.({ type: 'saga:compensation:failed', sagaId: state.sagaId, step, failure });
  if (attempt < maxAttemptsOf(retryPolicy) && !isMarkedNonRetryable(thrown)) {
    const random = (deps.random ?? Math.random)();
    const dueAt = new Date(at.getTime() + computeRetryDelayMs(retryPolicy, attempt + 1, random));
    logger.warn({ err: failure, dueAt: dueAt.toISOString() }, 'compensation retry scheduled');
    const data = { step, attempt, failure, dueAt: dueAt.toISOString() };
    return { events: [{ type: 'StepCompensationRetryScheduled', data }], at };
  }
  logger.error({ err: failure }, 'compensation failed');
  return { events: [{ type: 'StepCompensationFailed', data: { step, failure } }], at };
}
