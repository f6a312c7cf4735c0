import type { RecordedFailure } from '../core/events.js';
import type { SagaId } from '../core/ids.js';

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
