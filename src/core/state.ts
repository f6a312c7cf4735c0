import type { Actor, ParentRef, RecordedFailure } from './events.js';
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

/** Where one step (or one element of a map step, `name[i]`) stands. */
export type StepState =
  | { readonly status: 'pending' }
  /** Started and not finished: in flight, or in doubt if no worker is running it. */
  | {
      readonly status: 'running';
      readonly attempt: number;
      readonly idempotencyKey: string;
      readonly startedAt: string;
      /** Attempts so far that were interrupted (shutdown) rather than failed. */
      readonly interruptions: number;
    }
  /** A child saga step whose child has been started and has not ended yet. */
  | {
      readonly status: 'awaitingChild';
      readonly attempt: number;
      readonly childSagaId: SagaId;
      readonly startedAt: string;
    }
  /** The step halted the saga; a resume command's payload will be its output. */
  | {
      readonly status: 'halted';
      readonly attempt: number;
      readonly reason: string;
      readonly startedAt: string;
    }
  | {
      readonly status: 'completed';
      readonly attempt: number;
      readonly output: unknown;
      readonly completedAt: string;
      /** True when `recover` turned a failure into this output. */
      readonly recovered: boolean;
    }
  /** The last attempt failed and no retry is scheduled: failed for good. */
  | {
      readonly status: 'failed';
      readonly attempt: number;
      readonly failure: RecordedFailure;
    }
  /** `attempt` is the next attempt's number, due at `dueAt`. */
  | {
      readonly status: 'retryScheduled';
      readonly attempt: number;
      readonly dueAt: string;
      readonly interruptions: number;
    }
  | { readonly status: 'skipped'; readonly reason: string }
  /** Undone: a completed step by `compensate`, or a failed one by `compensateAttempt`. */
  | { readonly status: 'compensated'; readonly output: unknown }
  | {
      readonly status: 'compensationFailed';
      readonly output: unknown;
      readonly failure: RecordedFailure;
      /** What was being undone: the step's output, or (`failed`) an attempt that failed. */
      readonly undoing: 'completed' | 'failed';
      readonly attempt: number;
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
  /** Set when an operator (or the parent's rollback) asked to undo the completed saga. */
  readonly undoRequested: string | undefined;
  /** The payload of the last resume command, until a halted step takes it. */
  readonly resumePayload: { readonly payload: unknown } | undefined;
  /** The parent saga and step, for a child saga. */
  readonly parent: ParentRef | undefined;
  /** Undos that failed and will be tried again: the next try's number and due time, by step. */
  readonly compensationRetries: Readonly<Record<string, { attempt: number; dueAt: string }>>;
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

/** The status of a saga that has ended; throws for one that has not. */
export function terminalStatus(state: StartedSagaState): 'completed' | 'compensated' | 'failed' {
  switch (state.status) {
    case 'completed':
    case 'compensated':
    case 'failed':
      return state.status;
    default:
      throw new Error(`saga ${state.sagaId} is ${state.status}, not terminal`);
  }
}

/** The name of the `index`-th element of map step `step`. */
export function mapElementName(step: string, index: number): string {
  return `${step}[${index}]`;
}

/** The map step and index of an element name (`name[3]`), or undefined for a plain name. */
export function parseMapElementName(name: string): { step: string; index: number } | undefined {
  const match = /^(.+)\[(\d+)\]$/.exec(name);
  if (!match?.[1] || !match[2]) return undefined;
  return { step: match[1], index: Number(match[2]) };
}

/** The state of a step, pending when it has no events. */
export function stepStateOf(state: SagaFacts, step: string): StepState {
  return state.steps[step] ?? { status: 'pending' };
}
