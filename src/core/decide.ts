import type { AnySagaDefinition } from './definition.js';
import type { RecordedFailure } from './events.js';
import { maxAttemptsOf } from './retry.js';
import type { SagaFacts, SagaState, StartedSagaState } from './state.js';
import { stepStateOf } from './state.js';

/**
 * The decision function: given a definition and a saga's state, what happens next. Pure; the
 * same state always gives the same decision, which is what makes replay and recovery
 * deterministic.
 */

/** One attempt of a step to run. */
export interface StepRun {
  readonly step: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
}

export type Decision =
  /** Run these steps (independent of each other), recording StepStarted for each first. */
  | { readonly type: 'runSteps'; readonly runs: readonly StepRun[] }
  /** Record these in-doubt attempts as failed (their policy says not to retry them). */
  | {
      readonly type: 'failInDoubtSteps';
      readonly steps: readonly { readonly step: string; readonly attempt: number }[];
    }
  /** Record CompensationStarted: the saga rolls back. */
  | {
      readonly type: 'startCompensation';
      readonly step: string | null;
      readonly failure: RecordedFailure;
    }
  /** Undo this completed step. */
  | { readonly type: 'compensateStep'; readonly step: string }
  /** Record SagaCompleted. */
  | { readonly type: 'completeSaga' }
  /** Record SagaCompensated: every undo is done. */
  | { readonly type: 'finishCompensation' }
  /** Record SagaFailed: an undo failed for good, an operator must act. */
  | {
      readonly type: 'failSaga';
      readonly failure: RecordedFailure;
      readonly cause: RecordedFailure | null;
    }
  /** Nothing to do until `until` (a retry is due then), or until something external happens. */
  | { readonly type: 'wait'; readonly until: string | null }
  /** The saga has ended. */
  | { readonly type: 'finished' };

/** A failure recorded for an attempt found started but never finished. */
export const IN_DOUBT_FAILURE: RecordedFailure = {
  name: 'StepInDoubtFailure',
  message: 'the attempt was started but its worker stopped before recording a result',
};

/** The failure recorded when an operator cancels a saga. */
export function cancellationFailure(reason: string): RecordedFailure {
  return { name: 'SagaCancelledFailure', message: reason };
}

/** The idempotency key of a step: the same for every attempt, unique per saga and step. */
export function idempotencyKeyOf(state: SagaFacts, step: string): string {
  return `${state.sagaId}:${step}`;
}

function inDoubtSteps(state: SagaFacts) {
  return Object.entries(state.steps).flatMap(([step, stepState]) =>
    stepState.status === 'running' ? [{ step, attempt: stepState.attempt }] : [],
  );
}

function decideRunning(
  definition: AnySagaDefinition,
  state: StartedSagaState,
  now: Date,
): Decision {
  const inDoubt = inDoubtSteps(state);
  const rollback = state.firstFailure ?? cancelReason(state);

  if (rollback) {
    // Steps that may still have made their change must be settled before the undo is planned.
    if (inDoubt.length > 0) return { type: 'failInDoubtSteps', steps: inDoubt };
    return { type: 'startCompensation', step: rollback.step, failure: rollback.failure };
  }

  const notRetried = inDoubt.filter(({ step, attempt }) => {
    const policy = definition.stepNamed(step);
    return policy?.onInDoubt === 'fail' || attempt >= maxAttemptsOf(policy?.retry);
  });
  if (notRetried.length > 0) return { type: 'failInDoubtSteps', steps: notRetried };

  const runs: StepRun[] = inDoubt.map(({ step, attempt }) => ({
    step,
    attempt: attempt + 1,
    idempotencyKey: idempotencyKeyOf(state, step),
  }));
  let earliestDue: string | undefined;
  let allDone = true;
  for (const step of definition.steps) {
    const current = stepStateOf(state, step.name);
    if (current.status !== 'completed' && current.status !== 'skipped') allDone = false;
    if (current.status === 'retryScheduled') {
      if (Date.parse(current.dueAt) <= now.getTime()) {
        runs.push({
          step: step.name,
          attempt: current.attempt,
          idempotencyKey: idempotencyKeyOf(state, step.name),
        });
      } else if (earliestDue === undefined || current.dueAt < earliestDue) {
        earliestDue = current.dueAt;
      }
    }
    const ready = step.dependsOn.every(
      (dependency) => stepStateOf(state, dependency).status === 'completed',
    );
    if (current.status === 'pending' && ready) {
      runs.push({
        step: step.name,
        attempt: 1,
        idempotencyKey: idempotencyKeyOf(state, step.name),
      });
    }
  }

  if (runs.length > 0) return { type: 'runSteps', runs };
  if (allDone) return { type: 'completeSaga' };
  return { type: 'wait', until: earliestDue ?? null };
}

function cancelReason(state: SagaFacts) {
  if (state.cancelRequested === undefined) return undefined;
  return { step: null, failure: cancellationFailure(state.cancelRequested) };
}

function decideCompensating(
  definition: AnySagaDefinition,
  state: StartedSagaState & { readonly reason: SagaFacts['firstFailure'] },
): Decision {
  const reason = state.reason ?? state.firstFailure;
  for (const stepState of Object.values(state.steps)) {
    if (stepState.status === 'compensationFailed') {
      return { type: 'failSaga', failure: stepState.failure, cause: reason?.failure ?? null };
    }
  }
  // Reverse order of completion: a step completes after every step it depends on, so this
  // also undoes dependents before what they depend on.
  for (let i = state.completionOrder.length - 1; i >= 0; i--) {
    const step = state.completionOrder[i];
    if (step === undefined) continue;
    const undo = definition.stepNamed(step)?.compensate;
    if (undo && stepStateOf(state, step).status === 'completed') {
      return { type: 'compensateStep', step };
    }
  }
  return { type: 'finishCompensation' };
}

/**
 * Decides what a saga does next. `now` decides which scheduled retries are due; it comes from
 * the caller's clock so that the core never reads the time itself.
 */
export function decide(definition: AnySagaDefinition, state: SagaState, now: Date): Decision {
  switch (state.status) {
    case 'initial':
      return { type: 'wait', until: null };
    case 'running':
      return decideRunning(definition, state, now);
    case 'compensating':
      return decideCompensating(definition, state);
    case 'completed':
    case 'compensated':
    case 'failed':
      return { type: 'finished' };
  }
}
