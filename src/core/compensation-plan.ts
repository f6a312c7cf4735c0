import { definitionOfStep, undoesAttempt } from './decide.js';
import type { AnySagaDefinition } from './definition.js';
import type { SagaState, StartedSagaState } from './state.js';

/** One undo of a compensation plan, in the order it would run. */
export interface PlannedCompensation {
  readonly step: string;
  /** `output`: the step's `compensate` with its recorded output; `attempt`: its attempt undo. */
  readonly undo: 'output' | 'attempt';
  /** The recorded output the undo is given (undefined for an attempt undo). */
  readonly output: unknown;
  /** The undo's next try, from 1 (more than 1 when earlier tries failed). */
  readonly attempt: number;
}

/** A completed step that a rollback leaves as it is, and why. */
export interface KeptStep {
  readonly step: string;
  readonly reason: 'no compensation defined' | 'not in the definition';
}

/** What a rollback starting from a state would do. */
export interface CompensationPlan {
  /** Undos still to run, first to last. */
  readonly compensations: readonly PlannedCompensation[];
  /** Completed steps left as they are. */
  readonly kept: readonly KeptStep[];
  /** Steps started and not finished: a rollback records them failed (in doubt) first. */
  readonly inDoubt: readonly string[];
  /** Steps already undone. */
  readonly compensated: readonly string[];
  /** Undos that failed for good: the rollback cannot finish without an operator. */
  readonly failed: readonly string[];
}

const EMPTY_PLAN: CompensationPlan = {
  compensations: [],
  kept: [],
  inDoubt: [],
  compensated: [],
  failed: [],
};

function canUndoOutput(definition: AnySagaDefinition, step: string): KeptStep['reason'] | true {
  const body = definitionOfStep(definition, step)?.body;
  if (!body) return 'not in the definition';
  return body.kind === 'child' || body.compensate !== undefined ? true : 'no compensation defined';
}

function attemptOf(state: StartedSagaState, step: string): number {
  return state.compensationRetries[step]?.attempt ?? 1;
}

/**
 * The full compensation plan of a saga: every undo a rollback would run if it started now (or
 * still has to run, if it has started), in the order `decide` runs them: first the attempt undo
 * of failed attempts (they are the latest thing that happened, BC-12), then completed steps in
 * reverse order of completion, dependents before what they depend on (BC-13). Pure.
 *
 * A finished saga plans nothing, except a completed one, which plans what an undo would run.
 */
export function planCompensation(
  definition: AnySagaDefinition,
  state: SagaState,
): CompensationPlan {
  if (state.status === 'initial' || state.status === 'compensated') return EMPTY_PLAN;

  const entries = Object.entries(state.steps);
  const inDoubt = entries
    .filter(([, step]) => step.status === 'running' || step.status === 'awaitingChild')
    .map(([name]) => name);
  const compensated = entries
    .filter(([, step]) => step.status === 'compensated')
    .map(([name]) => name);
  const failed = entries
    .filter(([, step]) => step.status === 'compensationFailed')
    .map(([name]) => name);

  const compensations: PlannedCompensation[] = [];
  // A step in doubt is recorded failed before the rollback plans, so its attempt undo runs too.
  for (const [step, stepState] of entries) {
    if (undoesAttempt(definition, step, stepState)) {
      compensations.push({
        step,
        undo: 'attempt',
        output: undefined,
        attempt: attemptOf(state, step),
      });
    }
  }
  const kept: KeptStep[] = [];
  for (const step of [...state.completionOrder].reverse()) {
    const stepState = state.steps[step];
    if (stepState?.status !== 'completed') continue;
    const undoable = canUndoOutput(definition, step);
    if (undoable === true)
      compensations.push({
        step,
        undo: 'output',
        output: stepState.output,
        attempt: attemptOf(state, step),
      });
    else kept.push({ step, reason: undoable });
  }
  return { compensations, kept, inDoubt, compensated, failed };
}
