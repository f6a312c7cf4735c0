import * as E from 'fp-ts/lib/Either.js';

import { type Decision, decide, idempotencyKeyOf } from '../core/decide.js';
import type { AnySagaDefinition } from '../core/definition.js';
import { isUnfinishedAttemptFailure } from '../core/engine-failures.js';
import type { RecordedEvent, SagaEvent } from '../core/events.js';
import { evolve, replay } from '../core/evolve.js';
import { childSagaIdOf } from '../core/ids.js';
import {
  initialSagaState,
  type SagaState,
  type SagaStatus,
  type StartedSagaState,
  stepStateOf,
} from '../core/state.js';
import { describeDefinitionLookupFailure, type SagaRegistry } from './saga-registry.js';

/**
 * Checks a recorded saga history against the definition it was recorded with: the history must
 * fold, and every event that a worker wrote because `decide` told it to (a step started or
 * skipped, an in-doubt attempt failed, a halted step resumed, the rollback started, a step
 * undone, the saga ended) must be what `decide` says for the state before it.
 *
 * The events that carry what a step did (its output, its failure, a retry, a halt, a child
 * started) are outcomes, not decisions: they are checked only by folding.
 *
 * A worker decides on the state it last read and may append after outcomes of its own steps in
 * flight were written, so a decision event is accepted when it matches `decide` on the state
 * before it or on any state since the decision event before it. Steps shown running are taken
 * to be in flight, except the step the event is about (which may be an in-doubt retry).
 */

/** Why a history does not match its definition, at which event. */
export interface HistoryDivergence {
  readonly _tag: 'HistoryDivergence';
  /** The revision of the first event that does not fit; -1 when the history has none. */
  readonly revision: bigint;
  readonly eventType: string;
  /** What was wrong, in one sentence. */
  readonly detail: string;
}

/** What {@link verifyHistory} found for one saga. */
export interface HistoryVerification {
  readonly sagaId: string;
  readonly saga: string;
  readonly version: number;
  readonly status: SagaStatus;
  /** Events checked. */
  readonly events: number;
  /** Decision events found consistent with `decide`. */
  readonly decisions: number;
  /** The final state, folded from the whole history. */
  readonly state: SagaState;
}

/** The events a worker writes because of a decision, rather than as a step's outcome. */
function isDecisionEvent(state: SagaState, event: SagaEvent): boolean {
  switch (event.type) {
    case 'StepStarted':
    case 'StepSkipped':
    case 'CompensationStarted':
    case 'StepCompensated':
    case 'StepCompensationFailed':
    case 'SagaCompleted':
    case 'SagaCompensated':
    case 'SagaFailed':
      return true;
    case 'StepFailed':
      return isUnfinishedAttemptFailure(event.data.failure);
    case 'StepCompleted':
      // A halted step completes with the resume payload: the worker decided that.
      return state.status !== 'initial' && stepStateOf(state, event.data.step).status === 'halted';
    default:
      return false;
  }
}

function runningSteps(state: StartedSagaState, except: string | undefined): Set<string> {
  const names = Object.entries(state.steps)
    .filter(([name, step]) => step.status === 'running' && name !== except)
    .map(([name]) => name);
  return new Set(names);
}

function stepOf(event: SagaEvent): string | undefined {
  const { data } = event;
  return 'step' in data && typeof data.step === 'string' ? data.step : undefined;
}

function matchesStart(
  state: StartedSagaState,
  decision: Decision,
  event: Extract<SagaEvent, { type: 'StepStarted' }>,
): boolean {
  const { step, attempt, idempotencyKey } = event.data;
  if (decision.type === 'startChild') {
    const childKey = childSagaIdOf(state.sagaId, step);
    return decision.step === step && decision.attempt === attempt && idempotencyKey === childKey;
  }
  if (decision.type !== 'runSteps') return false;
  const expectedKey = idempotencyKeyOf(state, step);
  return decision.runs.some(
    (run) => run.step === step && run.attempt === attempt && expectedKey === idempotencyKey,
  );
}

/** Whether `decision` would have written `event`. */
function matchesDecision(state: StartedSagaState, decision: Decision, event: SagaEvent): boolean {
  switch (event.type) {
    case 'StepStarted':
      return matchesStart(state, decision, event);
    case 'StepSkipped':
      return (
        decision.type === 'skipSteps' &&
        decision.steps.some((skip) => skip.step === event.data.step)
      );
    case 'StepFailed':
      return (
        decision.type === 'failInDoubtSteps' &&
        decision.steps.some(
          (s) =>
            s.step === event.data.step &&
            s.attempt === event.data.attempt &&
            s.failure.name === event.data.failure.name,
        )
      );
    case 'StepCompleted':
      return decision.type === 'resumeStep' && decision.step === event.data.step;
    case 'CompensationStarted':
      return decision.type === 'startCompensation' && decision.step === event.data.step;
    case 'StepCompensated':
    case 'StepCompensationFailed':
      return decision.type === 'compensateStep' && decision.step === event.data.step;
    case 'SagaCompleted':
      return decision.type === 'completeSaga';
    case 'SagaCompensated':
      return decision.type === 'finishCompensation';
    case 'SagaFailed':
      return decision.type === 'failSaga';
    default:
      return false;
  }
}

/** A decision, in a few words, for the report. */
export function describeDecision(decision: Decision): string {
  switch (decision.type) {
    case 'skipSteps':
      return `skip ${decision.steps.map((s) => s.step).join(', ')}`;
    case 'runSteps':
      return `run ${decision.runs.map((run) => `${run.step}#${run.attempt}`).join(', ')}`;
    case 'startChild':
      return `start the child of ${decision.step}#${decision.attempt}`;
    case 'checkChildren':
      return `wait for the children of ${decision.children.map((c) => c.step).join(', ')}`;
    case 'resumeStep':
      return `resume ${decision.step}`;
    case 'failInDoubtSteps':
      return `fail in-doubt ${decision.steps.map((s) => `${s.step}#${s.attempt}`).join(', ')}`;
    case 'drainInFlight':
      return 'wait for the steps in flight';
    case 'startCompensation':
      return `start the rollback for ${decision.step ?? 'a cancel'}`;
    case 'compensateStep':
      return `undo ${decision.step}`;
    case 'completeSaga':
      return 'complete the saga';
    case 'finishCompensation':
      return 'end the rollback';
    case 'failSaga':
      return 'fail the saga';
    case 'wait':
      return decision.until ? `wait until ${decision.until}` : 'wait';
    case 'finished':
      return 'nothing: the saga has ended';
  }
}

function divergence(recorded: RecordedEvent, detail: string): HistoryDivergence {
  return {
    _tag: 'HistoryDivergence',
    revision: recorded.revision,
    eventType: recorded.event.type,
    detail,
  };
}

/**
 * Checks one decision event against the states since the previous decision event, newest
 * first; returns what `decide` said on the newest state when none matches.
 */
function checkDecision(
  definition: AnySagaDefinition,
  candidates: readonly StartedSagaState[],
  recorded: RecordedEvent,
): string | undefined {
  const now = new Date(recorded.metadata.occurredAt);
  const step = stepOf(recorded.event);
  let expected: Decision | undefined;
  for (let i = candidates.length - 1; i >= 0; i--) {
    const state = candidates[i];
    if (!state) continue;
    for (const inFlight of [runningSteps(state, step), new Set<string>()]) {
      const decision = decide(definition, state, now, inFlight);
      expected ??= decision;
      if (matchesDecision(state, decision, recorded.event)) return undefined;
    }
  }
  return expected ? describeDecision(expected) : 'no decision';
}

/**
 * Verifies a saga's recorded history against `definition`: it must decode (the caller read it),
 * fold, and every decision event must match `decide`. Left names the first event that does not.
 */
export function verifyHistoryWith(
  definition: AnySagaDefinition,
  events: readonly RecordedEvent[],
): E.Either<HistoryDivergence, HistoryVerification> {
  const first = events[0];
  if (!first) {
    return E.left({ _tag: 'HistoryDivergence', revision: -1n, eventType: '', detail: 'empty' });
  }
  let state: SagaState = initialSagaState;
  let candidates: StartedSagaState[] = [];
  let decisions = 0;
  for (const recorded of events) {
    if (state.status !== 'initial' && isDecisionEvent(state, recorded.event)) {
      const expected = checkDecision(definition, [...candidates, state], recorded);
      if (expected !== undefined) {
        return E.left(
          divergence(recorded, `recorded ${recorded.event.type}, expected ${expected}`),
        );
      }
      decisions += 1;
      candidates = [];
    } else if (state.status !== 'initial') {
      candidates.push(state);
    }
    const folded = replay([recorded], state);
    if (E.isLeft(folded)) return E.left(divergence(recorded, folded.left.detail));
    state = folded.right;
  }
  if (state.status === 'initial') return E.left(divergence(first, 'no SagaStarted'));
  return E.right({
    sagaId: state.sagaId,
    saga: state.saga,
    version: state.version,
    status: state.status,
    events: events.length,
    decisions,
    state,
  });
}

/**
 * Verifies a saga's recorded history against the definition the registry holds for the name,
 * version and shape hash its SagaStarted recorded; a missing or changed definition diverges at
 * revision 0.
 */
export function verifyHistory(
  registry: SagaRegistry,
  events: readonly RecordedEvent[],
): E.Either<HistoryDivergence, HistoryVerification> {
  const first = events[0];
  if (first?.event.type !== 'SagaStarted') {
    const eventType = first?.event.type ?? '';
    const revision = first?.revision ?? -1n;
    return E.left({ _tag: 'HistoryDivergence', revision, eventType, detail: 'no SagaStarted' });
  }
  const { saga, version, definitionHash } = first.event.data;
  const resolved = registry.resolve(saga, version, definitionHash);
  if (E.isLeft(resolved)) {
    return E.left(divergence(first, describeDefinitionLookupFailure(resolved.left)));
  }
  return verifyHistoryWith(resolved.right, events);
}

/** Folds a history twice, from scratch and event by event, and says whether both agree. */
export function replaysIdentically(events: readonly RecordedEvent[]): boolean {
  const whole = replay(events);
  if (E.isLeft(whole)) return false;
  let stepwise: SagaState = initialSagaState;
  try {
    for (const recorded of events) stepwise = evolve(stepwise, recorded);
  } catch {
    return false;
  }
  return JSON.stringify(whole.right, bigintSafe) === JSON.stringify(stepwise, bigintSafe);
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}
