import type { HistoryFailure } from '../core/evolve.js';
import type { SagaId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { Clock } from '../ports/clock.js';
import type { EventDecodeFailure, EventStore } from '../ports/event-store.js';
import type { IdGenerator } from '../ports/ids.js';
import type { SagaNotification } from './saga-notification.js';
import type { DefinitionLookupFailure, SagaRegistry } from './saga-registry.js';
import type { WatchStream } from './stream-watch.js';

/*
 * What a run of `advanceSaga` (saga-runner.ts) needs, how it is told to stop, and how it ends.
 */

/** What the runner needs. */
export interface SagaRunnerDeps {
  readonly store: EventStore;
  readonly registry: SagaRegistry;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  /** Source of the retry jitter, 0 to 1. Default: Math.random. */
  readonly random?: () => number;
  /** Called for each lifecycle notification. Default: none. */
  readonly notify?: (notification: SagaNotification) => void;
  /** Wakes the run when its stream gets events from elsewhere (a cancel). Default: none. */
  readonly watchStream?: WatchStream;
}

/** Why a run was told to stop: the worker is shutting down, or it lost the job's lease. */
export type InterruptReason = 'shutdown' | 'lease-lost';

/** How a run of {@link advanceSaga} ended, when nothing went wrong. */
export type SagaRunOutcome =
  /** The saga is terminal. */
  | { readonly _tag: 'SagaFinished'; readonly status: 'completed' | 'compensated' | 'failed' }
  /** Nothing to do before `until` (a retry), or before a command or a child's end. */
  | { readonly _tag: 'SagaWaiting'; readonly until: string | null }
  /** The signal fired (lease lost, shutdown); what was not recorded will be retried. */
  | { readonly _tag: 'SagaInterrupted' }
  /** Another worker appended first; this run stopped without writing more. */
  | { readonly _tag: 'SagaConflict' };

/** Why a saga cannot be run at all; retrying will not help. */
export type SagaRunFailure =
  | EventDecodeFailure
  | HistoryFailure
  | DefinitionLookupFailure
  | { readonly _tag: 'SagaNotFoundFailure'; readonly sagaId: SagaId };
