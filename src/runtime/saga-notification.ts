import type { RecordedFailure } from '../core/events.js';
import type { SagaId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { AttemptOutcome } from './step-attempt.js';

/** Lifecycle notifications of the saga runner; not stored events. */
export type SagaNotification =
  | { readonly type: 'saga:step:completed'; readonly sagaId: SagaId; readonly step: string }
  | {
      readonly type: 'saga:step:failed';
      readonly sagaId: SagaId;
      readonly step: string;
      readonly failure: RecordedFailure;
      readonly retryAt: string | null;
    }
  | { readonly type: 'saga:compensating'; readonly sagaId: SagaId; readonly step: string | null }
  | { readonly type: 'saga:halted'; readonly sagaId: SagaId; readonly step: string }
  | {
      readonly type: 'saga:compensation:failed';
      readonly sagaId: SagaId;
      readonly step: string;
      readonly failure: RecordedFailure;
    }
  | {
      readonly type: 'saga:finished';
      readonly sagaId: SagaId;
      readonly status: 'completed' | 'compensated' | 'failed';
    };

/** Announces how a step's attempt ended, and logs a failure (a retry at warn). */
export function announceAttempt(
  deps: { readonly logger: Logger; readonly notify?: (notification: SagaNotification) => void },
  sagaId: SagaId,
  step: string,
  outcome: AttemptOutcome,
): void {
  const first = outcome.events[0]?.type;
  if (first === 'StepCompleted' || first === 'StepRecovered') {
    deps.notify?.({ type: 'saga:step:completed', sagaId, step });
  } else if (first === 'SagaHalted') {
    deps.notify?.({ type: 'saga:halted', sagaId, step });
  } else if (outcome.failure) {
    const { failure, retryAt } = outcome;
    deps.notify?.({ type: 'saga:step:failed', sagaId, step, failure, retryAt });
    const log = deps.logger.child({ sagaId, step });
    if (retryAt) log.warn({ err: failure, retryAt }, 'step retry scheduled');
    else log.debug({ err: failure }, 'step failed');
  }
}
