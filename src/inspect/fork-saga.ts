import type { Decision } from '../core/decide.js';
import { decide } from '../core/decide.js';
import type { AnySagaDefinition } from '../core/definition.js';
import type { RecordedEvent, RecordedFailure, SagaEvent } from '../core/events.js';
import { evolve } from '../core/evolve.js';
import { EventId } from '../core/ids.js';
import { initialSagaState, type SagaState, stepStateOf } from '../core/state.js';

/**
 * The dry run of `rewind fork`: a what-if that replays a saga to event `n` (its input patched,
 * perhaps) and runs it forward with no real step: each step is stubbed by the output the original
 * recorded for it. A step with no recorded output (it failed, or was never reached) runs against
 * nothing real: it completes with `null`, and a note says so; with `keepFailures` a recorded
 * failure is replayed instead. Pure: the clock is virtual, starting at event `n`'s time.
 */

/** What the original stream recorded for one step, used as its stub. */
type RecordedOutcome =
  | { readonly kind: 'completed'; readonly output: unknown }
  | { readonly kind: 'failed'; readonly failure: RecordedFailure };

/** Options of {@link forkSaga}. */
export interface ForkOptions {
  readonly definition: AnySagaDefinition;
  /** The original stream, whole. */
  readonly original: readonly RecordedEvent[];
  /** Replay the original up to and including this revision. */
  readonly at: bigint;
  /** The input to use instead of the original's (already decoded). */
  readonly input?: unknown;
  /** Replay the original's recorded step failures instead of stubbing them. Default: false. */
  readonly keepFailures?: boolean;
  /** Events the dry run may add before it gives up. Default: 10,000. */
  readonly maxEvents?: number;
}

/** The forked stream and what the dry run had to make up. */
export interface ForkResult {
  readonly events: readonly RecordedEvent[];
  readonly state: SagaState;
  /** Stubs with nothing recorded behind them, child sagas not run, where the run stopped. */
  readonly notes: readonly string[];
}

function recordedOutcomes(original: readonly RecordedEvent[], keepFailures: boolean) {
  const outcomes = new Map<string, RecordedOutcome>();
  const undoFailures = new Map<string, RecordedFailure>();
  for (const { event } of original) {
    if (event.type === 'StepCompleted' || event.type === 'StepRecovered') {
      outcomes.set(event.data.step, { kind: 'completed', output: event.data.output });
    } else if (
      keepFailures &&
      event.type === 'StepFailed' &&
      outcomes.get(event.data.step)?.kind !== 'completed'
    ) {
      outcomes.set(event.data.step, { kind: 'failed', failure: event.data.failure });
    } else if (event.type === 'StepCompensationFailed') {
      undoFailures.set(event.data.step, event.data.failure);
    }
  }
  return { outcomes, undoFailures };
}

/** The events that stub one decision; an empty list stops the run. */
function stubDecision(
  decision: Decision,
  state: SagaState,
  recorded: ReturnType<typeof recordedOutcomes>,
  notes: string[],
): SagaEvent[] {
  const finish = (step: string, attempt: number): SagaEvent => {
    const outcome = recorded.outcomes.get(step);
    if (outcome?.kind === 'failed') {
      return {
        type: 'StepFailed',
        data: { step, attempt, failure: outcome.failure, retryable: false },
      };
    }
    if (outcome === undefined)
      notes.push(`${step}: no recorded output; ran against nothing real, output null`);
    return { type: 'StepCompleted', data: { step, attempt, output: outcome?.output ?? null } };
  };
  switch (decision.type) {
    case 'skipSteps':
      return decision.steps.map(({ step, reason }) => ({
        type: 'StepSkipped',
        data: { step, reason },
      }));
    case 'runSteps':
      return decision.runs.flatMap(({ step, attempt, idempotencyKey }): SagaEvent[] => [
        { type: 'StepStarted', data: { step, attempt, idempotencyKey } },
        finish(step, attempt),
      ]);
    case 'startChild': {
      notes.push(`${decision.step}: child saga not started; stubbed by its recorded outcome`);
      const { step, attempt } = decision;
      // As the runner does: a start already recorded (the fork point fell after it) goes on.
      const current = state.status === 'initial' ? undefined : stepStateOf(state, step);
      const started = current?.status === 'running' && current.attempt === attempt;
      const start: SagaEvent = {
        type: 'StepStarted',
        data: { step, attempt, idempotencyKey: `fork:${step}` },
      };
      return [...(started ? [] : [start]), finish(step, attempt)];
    }
    case 'checkChildren':
      return decision.children.map(({ step }) => finish(step, 1));
    case 'resumeStep': {
      const payload = state.status === 'initial' ? null : (state.resumePayload?.payload ?? null);
      return [
        {
          type: 'StepCompleted',
          data: { step: decision.step, attempt: decision.attempt, output: payload },
        },
      ];
    }
    case 'failInDoubtSteps':
      return decision.steps.map(({ step, attempt, failure }) => ({
        type: 'StepFailed',
        data: { step, attempt, failure, retryable: false },
      }));
    case 'startCompensation':
      return [
        { type: 'CompensationStarted', data: { step: decision.step, failure: decision.failure } },
      ];
    case 'compensateStep': {
      const failure = recorded.undoFailures.get(decision.step);
      return failure
        ? [{ type: 'StepCompensationFailed', data: { step: decision.step, failure } }]
        : [{ type: 'StepCompensated', data: { step: decision.step } }];
    }
    case 'completeSaga':
      return [{ type: 'SagaCompleted', data: {} }];
    case 'finishCompensation':
      return [{ type: 'SagaCompensated', data: {} }];
    case 'failSaga':
      return [{ type: 'SagaFailed', data: { failure: decision.failure, cause: decision.cause } }];
    case 'drainInFlight':
    case 'wait':
    case 'finished':
      return [];
  }
}

function forkEventId(revision: bigint): EventId {
  const id = `fork-${revision}`;
  if (!EventId.is(id)) throw new Error('a fork event id is never empty');
  return id;
}

function withInput(recorded: RecordedEvent, input: unknown): RecordedEvent {
  if (recorded.event.type !== 'SagaStarted') return recorded;
  return { ...recorded, event: { ...recorded.event, data: { ...recorded.event.data, input } } };
}

/** Runs the dry run of a fork; see the module comment. */
export function forkSaga(options: ForkOptions): ForkResult {
  const { definition, original, at } = options;
  const prefix = original
    .filter((recorded) => recorded.revision <= at)
    .map((recorded) => ('input' in options ? withInput(recorded, options.input) : recorded));
  const events: RecordedEvent[] = [...prefix];
  const notes: string[] = [];
  const recorded = recordedOutcomes(original, options.keepFailures === true);
  let state = prefix.reduce(evolve, initialSagaState);
  const last = prefix.at(-1);
  if (last === undefined) return { events, state, notes: ['nothing to replay'] };
  let clock = Date.parse(last.metadata.occurredAt);
  const limit = options.maxEvents ?? 10_000;

  while (events.length - prefix.length < limit) {
    const decision = decide(definition, state, new Date(clock));
    if (decision.type === 'wait' && decision.until !== null) {
      // A retry is due later: the virtual clock jumps there.
      clock = Math.max(clock, Date.parse(decision.until)) + 1;
      continue;
    }
    const stubbed = stubDecision(decision, state, recorded, notes);
    if (stubbed.length === 0) {
      if (decision.type === 'wait') notes.push('stopped: the saga waits for something external');
      break;
    }
    for (const event of stubbed) {
      clock += 1;
      const revision = BigInt(events.length);
      const next: RecordedEvent = {
        ...last,
        event,
        revision,
        position: revision,
        eventId: forkEventId(revision),
        metadata: { ...last.metadata, occurredAt: new Date(clock).toISOString() },
        recordedAt: new Date(clock),
      };
      try {
        state = evolve(state, next);
      } catch (error) {
        notes.push(`stopped: ${error instanceof Error ? error.message : String(error)}`);
        return { events, state, notes };
      }
      events.push(next);
    }
  }
  return { events, state, notes };
}
