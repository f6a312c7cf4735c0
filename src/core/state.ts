import type { Actor, RecordedFailure } from './events.js';
import type { SagaId } from './ids.js';

/**
 * Saga state, rebuilt by folding a saga's events with `evolve`.
 *
 * Glossary:
 * - saga: one run of a multi-step business operation whose steps all take effect or are undone.
 * - step: one unit of work of a saga, with an optional compensation that undoes it.
 * - compensation: the undo of a completed step, run in reverse order of completion on rollback.
 * - stream: the ordered events of one saga (`saga-<id>`); the saga's only source of truth.
 * - revision: an event's number within its stream, from 0; appends name the revision expected.
 * - position: an event's place in the store's global order, across streams.
 * - checkpoint: the last position a projection has turned into jobs.
 * - job: a row of the Postgres queue that asks a worker to advance one saga (or do plain work).
 * - attempt: one try of a step (or a job), numbered from 1.
 * - lease: a worker's time-limited claim on a job, renewed by heartbeats, fenced by a token.
 */

/** Where one step stands. */
export type StepState =
  | { readonly status: 'pending' }
  /** Started and not finished: in flight, or in doubt if no worker is running it. */
  | {
      readonly status: 'running';
      readonly attempt: number;
      readonly idempotencyKey: string;
      readonly startedAt: string;
    }
  | {
      readonly status: 'completed';
      readonly attempt: number;
      readonly output: unknown;
      readonly completedAt: string;
    }
  /** The last attempt failed and no retry is scheduled: failed for good. */
  | {
      readonly status: 'failed';
      readonly attempt: number;
      readonly failure: RecordedFailure;
    }
  /** The last attempt failed; `attempt` is the next one's number, due at `dueAt`. */
  | { readonly status: 'retryScheduled'; readonly attempt: number; readonly dueAt: string }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'compensated'; readonly output: unknown }
  | {
      readonly status: 'compensationFailed';
      readonly output: unknown;
      readonly failure: RecordedFailure;
    };

export type StepStatus = StepState['status'];

/** Why a saga rolls back: a step that failed for good, or an operator's cancel (step null). */
export interface RollbackReason {
  readonly step: string | null;
  readonly failure: RecordedFailure;
}

/** What every started saga knows, whatever its status. */
export interface SagaFacts {
  readonly sagaId: SagaId;
  readonly saga: string;
  readonly version: number;
  readonly definitionHash: string;
  readonly input: unknown;
  readonly actor: Actor;
  readonly correlationId: string;
  readonly startedAt: string;
  /** Steps that have events, by name; a step with none is pending. */
  readonly steps: Readonly<Record<string, StepState>>;
  /** Names of completed steps in the order they completed: the rollback runs it backwards. */
  readonly completionOrder: readonly string[];
  /** The first step that failed for good, if any. */
  readonly firstFailure: RollbackReason | undefined;
  /** Set when an operator asked to cancel. */
  readonly cancelRequested: string | undefined;
  /** Revision of the last event folded in. */
  readonly revision: bigint;
  /** Time of the last event folded in. */
  readonly updatedAt: string;
}

/** A saga's state: a union on `status`. */
export type SagaState =
  | { readonly status: 'initial' }
  | (SagaFacts & { readonly status: 'running' })
  | (SagaFacts & { readonly status: 'compensating'; readonly reason: RollbackReason })
  | (SagaFacts & { readonly status: 'completed' })
  | (SagaFacts & { readonly status: 'compensated'; readonly reason: RollbackReason })
  | (SagaFacts & {
      readonly status: 'failed';
      readonly reason: RollbackReason | undefined;
      readonly failure: RecordedFailure;
    });

export type SagaStatus = SagaState['status'];

/** A started saga's state. */
export type StartedSagaState = Exclude<SagaState, { status: 'initial' }>;

/** The state before the first event. */
export const initialSagaState: SagaState = { status: 'initial' };

/** Whether the saga has ended: nothing will run any more. */
export function isTerminal(state: SagaState): boolean {
  return (
    state.status === 'completed' || state.status === 'compensated' || state.status === 'failed'
  );
}

/** The state of a step, pending when it has no events. */
export function stepStateOf(state: SagaFacts, step: string): StepState {
  return state.steps[step] ?? { status: 'pending' };
}
