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
