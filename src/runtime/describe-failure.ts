import { describeHistoryFailure } from '../core/evolve.js';
import { describeEventDecodeFailure } from '../ports/event-store.js';
import { describeDefinitionLookupFailure } from './saga-registry.js';
import type { SagaRunFailure } from './saga-run-outcome.js';

/** A sentence for a failure that stops a saga from running, naming what and where. */
export function describeSagaRunFailure(failure: SagaRunFailure): string {
  switch (failure._tag) {
    case 'EventDecodeFailure':
      return describeEventDecodeFailure(failure);
    case 'HistoryFailure':
      return describeHistoryFailure(failure);
    case 'DefinitionMissingFailure':
    case 'DefinitionChangedFailure':
      return describeDefinitionLookupFailure(failure);
    case 'SagaNotFoundFailure':
      return `saga ${failure.sagaId} has no events`;
  }
}
