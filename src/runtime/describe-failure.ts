import { describeDefinitionLookupFailure } from './saga-registry.js';
import type { SagaRunFailure } from './saga-runner.js';

/** A sentence for a failure that stops a saga from running, naming what and where. */
export function describeSagaRunFailure(failure: SagaRunFailure): string {
  switch (failure._tag) {
    case 'EventDecodeFailure':
      return (
        `event ${failure.revision} of stream ${failure.streamName} does not decode: ` +
        `${failure.path}: ${failure.message}`
      );
    case 'HistoryFailure':
      return `event ${failure.revision} (${failure.eventType}) does not fit the history: ${failure.detail}`;
    case 'DefinitionMissingFailure':
    case 'DefinitionChangedFailure':
      return describeDefinitionLookupFailure(failure);
    case 'SagaNotFoundFailure':
      return `saga ${failure.sagaId} has no events`;
  }
}
