import type { RecordedFailure } from './events.js';

/** The failures the engine itself records, beside those that steps throw. */

/** A failure recorded for an attempt found started but never finished. */
export const IN_DOUBT_FAILURE: RecordedFailure = {
  name: 'StepInDoubtFailure',
  message: 'the attempt was started but its worker stopped before recording a result',
};

/** The failure recorded when an operator cancels a saga. */
export function cancellationFailure(reason: string): RecordedFailure {
  return { name: 'SagaCancelledFailure', message: reason };
}

/** The failure recorded when a completed saga is undone. */
export function undoFailure(reason: string): RecordedFailure {
  return { name: 'SagaUndoRequested', message: reason };
}

/** A failure recorded for a child saga step whose saga rolls back while the child still runs. */
export const CHILD_ABANDONED_FAILURE: RecordedFailure = {
  name: 'ChildSagaAbandonedFailure',
  message: 'the saga rolled back while the child saga of this step was still running',
};

/**
 * Whether the engine recorded this failure for an attempt it never saw finish: in doubt, or a
 * child saga left running. Such an attempt may have made its change, or started its child.
 */
export function isUnfinishedAttemptFailure(failure: RecordedFailure): boolean {
  return failure.name === IN_DOUBT_FAILURE.name || failure.name === CHILD_ABANDONED_FAILURE.name;
}
