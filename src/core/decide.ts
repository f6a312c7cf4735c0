import type { AnySagaDefinition, StepBody, StepDefinition } from './definition.js';
import {
  CHILD_ABANDONED_FAILURE,
  IN_DOUBT_FAILURE,
  isUnfinishedAttemptFailure,
  undoFailure,
} from './engine-failures.js';
import type { RecordedFailure } from './events.js';
import { argsFor } from './results.js';
import { maxAttemptsOf } from './retry.js';
import {
  mapElementName,
  parseMapElementName,
  type RollbackReason,
  type SagaFacts,
  type SagaState,
  type StartedSagaState,
  type StepState,
  stepStateOf,
} from './state.js';

/**
 * The decision function: given a definition and a saga's state, what happens next. Pure; the
 * same state always gives the same decision, which is what makes replay and recovery
 * deterministic.
 */

/** One attempt of a step (or of one element of a map step) to run. */
export interface StepRun {
  readonly step: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
}

/** An attempt that never finished, and the failure that records it. */
export interface UnfinishedAttempt {
  readonly step: string;
  readonly attempt: number;
  readonly failure: RecordedFailure;
}

export type Decision =
  /** Record StepSkipped for these: branches not taken. */
  | { readonly type: 'skipSteps'; readonly steps: readonly { step: string; reason: string }[] }
  /** Run these steps (independent of each other), recording StepStarted for each first. */
  | { readonly type: 'runSteps'; readonly runs: readonly StepRun[] }
  /** Start the child saga of a child saga step. */
  | { readonly type: 'startChild'; readonly step: string; readonly attempt: number }
  /** Look whether these children have ended; record the outcome of those that have. */
  | {
      readonly type: 'checkChildren';
      readonly children: readonly { step: string; childSagaId: string }[];
    }
  /** Complete a halted step with the resume payload. */
  | { readonly type: 'resumeStep'; readonly step: string; readonly attempt: number }
  /**
   * Record these unfinished attempts as failed: in doubt and not to be retried, or (on a
   * rollback) in doubt or waiting for a child saga. Each carries the failure to record.
   */
  | { readonly type: 'failInDoubtSteps'; readonly steps: readonly UnfinishedAttempt[] }
  /** Wait for a step the caller runs to finish; `abort` asks them to stop first. */
  | { readonly type: 'drainInFlight'; readonly abort: boolean }
  /** Record CompensationStarted: the saga rolls back. */
  | {
      readonly type: 'startCompensation';
      readonly step: string | null;
      readonly failure: RecordedFailure;
    }
  /** Undo a completed step, or (`attempt`) what a failed attempt may have done. */
  | {
      readonly type: 'compensateStep';
      readonly step: string;
      readonly undo: 'output' | 'attempt';
      /** The undo's try, from 1. */
      readonly attempt: number;
    }
  /** Record SagaCompleted. */
  | { readonly type: 'completeSaga' }
  /** Record SagaCompensated: every undo is done. */
  | { readonly type: 'finishCompensation' }
  /** Record SagaFailed: an undo failed for good, an operator must act. */
  | {
      readonly type: 'failSaga';
      readonly failure: RecordedFailure;
      readonly cause: RecordedFailure | null;
    }
  /** Nothing to do until `until` (a retry is due then), or until something external happens. */
  | { readonly type: 'wait'; readonly until: string | null }
  /** The saga has ended. */
  | { readonly type: 'finished' };

/** The idempotency key of a step: the same for every attempt, unique per saga and step. */
export function idempotencyKeyOf(state: SagaFacts, step: string): string {
  return `${state.sagaId}:${step}`;
}

/** The definition of a step or of a map element (`name[i]`). */
export function definitionOfStep(
  definition: AnySagaDefinition,
  name: string,
): StepDefinition<unknown, unknown> | undefined {
  return definition.stepNamed(parseMapElementName(name)?.step ?? name);
}

function attemptsUsed(stepState: StepState): number {
  if (stepState.status === 'running') return stepState.attempt - stepState.interruptions;
  return 0;
}

/** What the scan of the steps found to do. */
interface Plan {
  readonly skips: { step: string; reason: string }[];
  readonly runs: StepRun[];
  readonly children: { step: string; childSagaId: string }[];
  startChild: { step: string; attempt: number } | undefined;
  resume: { step: string; attempt: number } | undefined;
  earliestDue: string | undefined;
  allDone: boolean;
}

type Progress = 'done' | 'skipped' | 'open';

/** Whether a step (all its elements, for a map) has completed, was skipped, or is still open. */
function progressOf(
  state: SagaFacts,
  step: StepDefinition<unknown, unknown>,
  progress: ReadonlyMap<string, Progress>,
): Progress {
  const own = stepStateOf(state, step.name);
  if (own.status === 'skipped') return 'skipped';
  if (step.body.kind !== 'map') return own.status === 'completed' ? 'done' : 'open';
  if (!step.dependsOn.every((dependency) => progress.get(dependency) === 'done')) return 'open';
  const count = step.body.over(argsFor(state, step)).length;
  for (let i = 0; i < count; i++) {
    if (stepStateOf(state, mapElementName(step.name, i)).status !== 'completed') return 'open';
  }
  return 'done';
}

function untouched(state: SagaFacts, step: StepDefinition<unknown, unknown>): boolean {
  if (step.body.kind !== 'map') return stepStateOf(state, step.name).status === 'pending';
  const prefix = `${step.name}[`;
  return !Object.keys(state.steps).some((name) => name === step.name || name.startsWith(prefix));
}

function planElement(
  state: SagaFacts,
  plan: Plan,
  name: string,
  body: StepBody,
  inFlight: ReadonlySet<string>,
  now: Date,
): 'busy' | 'idle' {
  const current = stepStateOf(state, name);
  const key = idempotencyKeyOf(state, name);
  switch (current.status) {
    case 'pending':
      if (body.kind === 'child') plan.startChild ??= { step: name, attempt: 1 };
      else plan.runs.push({ step: name, attempt: 1, idempotencyKey: key });
      return 'busy';
    case 'retryScheduled':
      if (Date.parse(current.dueAt) > now.getTime()) {
        if (plan.earliestDue === undefined || current.dueAt < plan.earliestDue) {
          plan.earliestDue = current.dueAt;
        }
        return 'idle';
      }
      if (body.kind === 'child') plan.startChild ??= { step: name, attempt: current.attempt };
      else plan.runs.push({ step: name, attempt: current.attempt, idempotencyKey: key });
      return 'busy';
    case 'running':
      // A child saga step recorded its start, then stopped before recording its child: starting
      // the child again finds the same child, so the start simply goes on.
      if (body.kind === 'child') plan.startChild ??= { step: name, attempt: current.attempt };
      // Not in flight here means in doubt; the in-doubt attempts that may not be retried were
      // settled before planning, so this one runs again under the same idempotency key.
      else if (!inFlight.has(name)) {
        plan.runs.push({ step: name, attempt: current.attempt + 1, idempotencyKey: key });
      }
      return 'busy';
    case 'halted':
      if (state.resumePayload) plan.resume ??= { step: name, attempt: current.attempt };
      return 'idle';
    case 'awaitingChild':
      plan.children.push({ step: name, childSagaId: current.childSagaId });
      return 'idle';
    default:
      return 'idle';
  }
}

function planSteps(
  definition: AnySagaDefinition,
  state: SagaFacts,
  inFlight: ReadonlySet<string>,
  now: Date,
): Plan {
  const plan: Plan = {
    skips: [],
    runs: [],
    children: [],
    startChild: undefined,
    resume: undefined,
    earliestDue: undefined,
    allDone: true,
  };
  const progress = new Map<string, Progress>();
  for (const step of definition.steps) {
    const own = progressOf(state, step, progress);
    progress.set(step.name, own);
    if (own !== 'open') continue;
    plan.allDone = false;

    const skippedDependency = step.dependsOn.find((name) => progress.get(name) === 'skipped');
    if (skippedDependency !== undefined && untouched(state, step)) {
      plan.skips.push({ step: step.name, reason: `${skippedDependency} was skipped` });
      continue;
    }
    if (!step.dependsOn.every((name) => progress.get(name) === 'done')) continue;
    const args = argsFor(state, step);
    if (step.options.when && untouched(state, step) && !step.options.when(args)) {
      plan.skips.push({ step: step.name, reason: 'its condition was false' });
      continue;
    }

    if (step.body.kind === 'map') {
      const limit = step.body.concurrency ?? definition.maxConcurrency;
      planMapStep(state, plan, { ...step, body: step.body }, args, limit, inFlight, now);
    } else planElement(state, plan, step.name, step.body, inFlight, now);
  }
  return plan;
}

/**
 * Plans the elements of a map step: at most its concurrency in flight, and a batch only once
 * every element of the batches before it has completed.
 */
function planMapStep(
  state: SagaFacts,
  plan: Plan,
  step: StepDefinition<unknown, unknown> & { readonly body: Extract<StepBody, { kind: 'map' }> },
  args: ReturnType<typeof argsFor>,
  limit: number,
  inFlight: ReadonlySet<string>,
  now: Date,
): void {
  const count = step.body.over(args).length;
  const batchSize = step.body.batchSize ?? count;
  let busy = 0;
  for (let i = 0; i < count; i++) {
    if (inFlight.has(mapElementName(step.name, i))) busy += 1;
  }
  let earlierBatchesDone = true;
  for (let i = 0; i < count && busy < limit; i++) {
    if (i > 0 && i % batchSize === 0 && !earlierBatchesDone) break;
    const name = mapElementName(step.name, i);
    if (stepStateOf(state, name).status !== 'completed') earlierBatchesDone = false;
    if (inFlight.has(name)) continue;
    if (planElement(state, plan, name, step.body, inFlight, now) === 'busy') busy += 1;
  }
}

/** Attempts started and not in flight here: in doubt, since no worker is running them. */
function inDoubtSteps(state: SagaFacts, inFlight: ReadonlySet<string>) {
  return Object.entries(state.steps).flatMap(([step, stepState]) =>
    stepState.status === 'running' && !inFlight.has(step)
      ? [{ step, attempt: stepState.attempt, used: attemptsUsed(stepState) }]
      : [],
  );
}

/** What a rollback must record failed before it starts: attempts in doubt, children running. */
function unfinishedAttempts(state: SagaFacts, inFlight: ReadonlySet<string>): UnfinishedAttempt[] {
  const awaiting = Object.entries(state.steps).flatMap(([step, stepState]) =>
    stepState.status === 'awaitingChild'
      ? [{ step, attempt: stepState.attempt, failure: CHILD_ABANDONED_FAILURE }]
      : [],
  );
  const inDoubt = inDoubtSteps(state, inFlight).map(({ step, attempt }) => ({
    step,
    attempt,
    failure: IN_DOUBT_FAILURE,
  }));
  return [...inDoubt, ...awaiting];
}

/**
 * The first moves of a rollback. Steps that may still make their change must end, and be
 * recorded, before the undo is planned: nothing in flight is abandoned (BC-10). A child saga
 * still running is recorded abandoned; the rollback then stops it and waits for its end.
 */
function decideRollback(
  state: StartedSagaState,
  rollback: RollbackReason,
  inFlight: ReadonlySet<string>,
): Decision {
  if (inFlight.size > 0) return { type: 'drainInFlight', abort: true };
  const unfinished = unfinishedAttempts(state, inFlight);
  if (unfinished.length > 0) return { type: 'failInDoubtSteps', steps: unfinished };
  return { type: 'startCompensation', step: rollback.step, failure: rollback.failure };
}

function decideRunning(
  definition: AnySagaDefinition,
  state: StartedSagaState,
  now: Date,
  inFlight: ReadonlySet<string>,
): Decision {
  // A cancel of a running saga is folded in as its first failure (see evolve).
  if (state.firstFailure) return decideRollback(state, state.firstFailure, inFlight);

  // Starting a child saga again is harmless (it finds the same child), so a child saga step in
  // doubt always goes on; any other follows its policy.
  const notRetried = inDoubtSteps(state, inFlight).filter(({ step, used }) => {
    const found = definitionOfStep(definition, step);
    if (found?.body.kind === 'child') return false;
    return found?.options.onInDoubt === 'fail' || used >= maxAttemptsOf(found?.options.retry);
  });
  if (notRetried.length > 0) {
    const steps = notRetried.map(({ step, attempt }) => ({
      step,
      attempt,
      failure: IN_DOUBT_FAILURE,
    }));
    return { type: 'failInDoubtSteps', steps };
  }

  const plan = planSteps(definition, state, inFlight, now);
  if (plan.skips.length > 0) return { type: 'skipSteps', steps: plan.skips };
  if (plan.resume) return { type: 'resumeStep', ...plan.resume };
  const capacity = definition.maxConcurrency - inFlight.size;
  if (plan.runs.length > 0 && capacity > 0) {
    return { type: 'runSteps', runs: plan.runs.slice(0, capacity) };
  }
  if (plan.startChild) return { type: 'startChild', ...plan.startChild };
  if (plan.children.length > 0) return { type: 'checkChildren', children: plan.children };
  if (inFlight.size > 0) return { type: 'drainInFlight', abort: false };
  if (plan.allDone) return { type: 'completeSaga' };
  return { type: 'wait', until: plan.earliestDue ?? null };
}

function canUndoOutput(definition: AnySagaDefinition, step: string): boolean {
  const body = definitionOfStep(definition, step)?.body;
  if (!body) return false;
  return body.kind === 'child' || body.compensate !== undefined;
}

/**
 * Whether a rollback undoes what this step's failed attempt may have done: a task's
 * `compensateAttempt`, or, for a child saga step the engine never saw finish, the child saga
 * it may have started. (A child that ended by itself has undone itself.) An attempt still
 * running or waiting for its child counts: a rollback records it failed before it plans.
 */
export function undoesAttempt(
  definition: AnySagaDefinition,
  step: string,
  stepState: StepState,
): boolean {
  const body = definitionOfStep(definition, step)?.body;
  if (stepState.status === 'awaitingChild') return true;
  if (stepState.status === 'running') {
    return (
      body?.kind === 'child' || (body?.kind === 'task' && body.compensateAttempt !== undefined)
    );
  }
  if (stepState.status !== 'failed') return false;
  if (body?.kind === 'child') return isUnfinishedAttemptFailure(stepState.failure);
  return body?.kind === 'task' && body.compensateAttempt !== undefined;
}

type UndoCandidate = { readonly step: string; readonly undo: 'output' | 'attempt' };

/** The next undo due: an attempt's own undo first, then completed steps newest first. */
function nextUndo(
  definition: AnySagaDefinition,
  state: StartedSagaState,
): UndoCandidate | undefined {
  // An attempt that failed may have made its change before failing (BC-12): its own undo runs
  // first, being the latest thing that happened.
  for (const [step, stepState] of Object.entries(state.steps)) {
    if (undoesAttempt(definition, step, stepState)) return { step, undo: 'attempt' };
  }
  // Reverse order of completion: a step completes after every step it depends on, so this
  // also undoes dependents before what they depend on (BC-13).
  for (let i = state.completionOrder.length - 1; i >= 0; i--) {
    const step = state.completionOrder[i];
    if (step === undefined) continue;
    if (stepStateOf(state, step).status === 'completed' && canUndoOutput(definition, step)) {
      return { step, undo: 'output' };
    }
  }
  return undefined;
}

function decideCompensating(
  definition: AnySagaDefinition,
  state: StartedSagaState,
  reason: SagaFacts['firstFailure'],
  now: Date,
): Decision {
  for (const stepState of Object.values(state.steps)) {
    if (stepState.status === 'compensationFailed') {
      return { type: 'failSaga', failure: stepState.failure, cause: reason?.failure ?? null };
    }
  }
  const next = nextUndo(definition, state);
  if (!next) return { type: 'finishCompensation' };
  const retry = state.compensationRetries[next.step];
  // The undos run one at a time, in order: a later one never overtakes one that must be retried.
  if (retry && Date.parse(retry.dueAt) > now.getTime()) return { type: 'wait', until: retry.dueAt };
  return { type: 'compensateStep', ...next, attempt: retry?.attempt ?? 1 };
}

/**
 * Decides what a saga does next. `now` decides which scheduled retries are due; it comes from
 * the caller's clock so that the core never reads the time itself. `inFlight` names the steps
 * the caller is running right now, which are therefore not in doubt.
 */
export function decide(
  definition: AnySagaDefinition,
  state: SagaState,
  now: Date,
  inFlight: ReadonlySet<string> = new Set(),
): Decision {
  switch (state.status) {
    case 'initial':
      return { type: 'wait', until: null };
    case 'running':
      return decideRunning(definition, state, now, inFlight);
    case 'compensating':
      return decideCompensating(definition, state, state.reason, now);
    case 'completed':
      if (state.undoRequested !== undefined) {
        return { type: 'startCompensation', step: null, failure: undoFailure(state.undoRequested) };
      }
      return { type: 'finished' };
    case 'compensated':
    case 'failed':
      return { type: 'finished' };
  }
}
