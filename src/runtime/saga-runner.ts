import * as E from 'fp-ts/lib/Either.js';

import { type Decision, decide, IN_DOUBT_FAILURE, type StepRun } from '../core/decide.js';
import type { AnySagaDefinition, StepContext, StepResults } from '../core/definition.js';
import type { RecordedFailure, SagaEvent } from '../core/events.js';
import { type HistoryFailure, replay } from '../core/evolve.js';
import { isMarkedNonRetryable, toRecordedFailure } from '../core/failure.js';
import { type SagaId, sagaStreamName } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { computeRetryDelayMs, maxAttemptsOf } from '../core/retry.js';
import { initialSagaState, type SagaState, type StartedSagaState } from '../core/state.js';
import { encodeValue } from '../core/values.js';
import type { Clock } from '../ports/clock.js';
import type { EventDecodeFailure, EventStore } from '../ports/event-store.js';
import type { IdGenerator } from '../ports/ids.js';
import type { DefinitionLookupFailure, SagaRegistry } from './saga-registry.js';
import { StreamWriter } from './stream-writer.js';

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
  | {
      readonly type: 'saga:finished';
      readonly sagaId: SagaId;
      readonly status: 'completed' | 'compensated' | 'failed';
    };

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
}

/** How a run of {@link advanceSaga} ended, when nothing went wrong. */
export type SagaRunOutcome =
  /** The saga is terminal. */
  | { readonly _tag: 'SagaFinished'; readonly status: 'completed' | 'compensated' | 'failed' }
  /** Nothing to do before `until` (a scheduled retry); a later job will pick it up. */
  | { readonly _tag: 'SagaWaiting'; readonly until: string | null }
  /** The signal fired (lease lost, shutdown); what was not recorded will be retried. */
  | { readonly _tag: 'SagaInterrupted' }
  /** Another writer appended first; this run stopped without writing more. */
  | { readonly _tag: 'SagaConflict' };

/** Why a saga cannot be run at all; retrying will not help. */
export type SagaRunFailure =
  | EventDecodeFailure
  | HistoryFailure
  | DefinitionLookupFailure
  | { readonly _tag: 'SagaNotFoundFailure'; readonly sagaId: SagaId };

type Step = 'continue' | SagaRunOutcome;

class SagaRun {
  readonly #streamName;
  #state: SagaState = initialSagaState;
  #lastEventId: string | null = null;

  constructor(
    private readonly deps: SagaRunnerDeps,
    private readonly sagaId: SagaId,
    private readonly signal: AbortSignal,
  ) {
    this.#streamName = sagaStreamName(sagaId);
  }

  async run(): Promise<E.Either<SagaRunFailure, SagaRunOutcome>> {
    let definition: AnySagaDefinition | undefined;
    for (;;) {
      if (this.signal.aborted) return E.right({ _tag: 'SagaInterrupted' });

      const loaded = await this.#catchUp();
      if (E.isLeft(loaded)) return loaded;
      const state = loaded.right;

      if (!definition) {
        const resolved = this.deps.registry.resolve(
          state.saga,
          state.version,
          state.definitionHash,
        );
        if (E.isLeft(resolved)) return resolved;
        definition = resolved.right;
      }

      const decision = decide(definition, state, this.deps.clock.now());
      const step = await this.#act(definition, state, decision);
      if (step !== 'continue') return E.right(step);
    }
  }

  /** Reads the events appended since the last read and folds them in. */
  async #catchUp(): Promise<E.Either<SagaRunFailure, StartedSagaState>> {
    const from = this.#state.status === 'initial' ? 0n : this.#state.revision + 1n;
    const read = await this.deps.store.readStream(this.#streamName, from);
    if (E.isLeft(read)) return read;
    const folded = replay(read.right, this.#state);
    if (E.isLeft(folded)) return folded;
    this.#state = folded.right;
    this.#lastEventId = read.right.at(-1)?.eventId ?? this.#lastEventId;
    if (this.#state.status === 'initial') {
      return E.left({ _tag: 'SagaNotFoundFailure', sagaId: this.sagaId });
    }
    return E.right(this.#state);
  }

  #writer(state: StartedSagaState): StreamWriter {
    const { store, clock, ids } = this.deps;
    return new StreamWriter(store, clock, ids, this.#streamName, state, this.#lastEventId);
  }

  async #write(state: StartedSagaState, events: readonly SagaEvent[]): Promise<Step> {
    const appended = await this.#writer(state).append(events);
    return E.isLeft(appended) ? { _tag: 'SagaConflict' } : 'continue';
  }

  async #act(
    definition: AnySagaDefinition,
    state: StartedSagaState,
    decision: Decision,
  ): Promise<Step> {
    switch (decision.type) {
      case 'runSteps':
        return this.#runSteps(definition, state, decision.runs);
      case 'failInDoubtSteps':
        return this.#write(
          state,
          decision.steps.map(({ step, attempt }) => ({
            type: 'StepFailed',
            data: { step, attempt, failure: IN_DOUBT_FAILURE, retryable: false },
          })),
        );
      case 'startCompensation':
        this.deps.notify?.({ type: 'saga:compensating', sagaId: this.sagaId, step: decision.step });
        return this.#write(state, [
          { type: 'CompensationStarted', data: { step: decision.step, failure: decision.failure } },
        ]);
      case 'compensateStep':
        return this.#compensate(definition, state, decision.step);
      case 'completeSaga':
        return this.#finish(state, { type: 'SagaCompleted', data: {} }, 'completed');
      case 'finishCompensation':
        return this.#finish(state, { type: 'SagaCompensated', data: {} }, 'compensated');
      case 'failSaga': {
        const event = {
          type: 'SagaFailed',
          data: { failure: decision.failure, cause: decision.cause },
        } as const;
        return this.#finish(state, event, 'failed');
      }
      case 'wait':
        return { _tag: 'SagaWaiting', until: decision.until };
      case 'finished':
        return { _tag: 'SagaFinished', status: terminalStatus(state) };
    }
  }

  async #finish(
    state: StartedSagaState,
    event: SagaEvent,
    status: 'completed' | 'compensated' | 'failed',
  ): Promise<Step> {
    const written = await this.#write(state, [event]);
    if (written !== 'continue') return written;
    const log = this.deps.logger.child({ sagaId: this.sagaId, saga: state.saga });
    if (status === 'failed') log.error({ status }, 'saga stuck: an undo failed');
    else log.info({ status }, 'saga finished');
    this.deps.notify?.({ type: 'saga:finished', sagaId: this.sagaId, status });
    return { _tag: 'SagaFinished', status };
  }

  #context(
    state: StartedSagaState,
    step: string,
    attempt: number,
    signal: AbortSignal,
  ): StepContext {
    return {
      sagaId: this.sagaId,
      saga: state.saga,
      step,
      attempt,
      idempotencyKey: `${this.sagaId}:${step}`,
      actor: state.actor,
      correlationId: state.correlationId,
      logger: this.deps.logger.child({ sagaId: this.sagaId, saga: state.saga, step, attempt }),
      signal,
    };
  }

  async #runSteps(
    definition: AnySagaDefinition,
    state: StartedSagaState,
    runs: readonly StepRun[],
  ): Promise<Step> {
    const writer = this.#writer(state);
    const started = await writer.append(
      runs.map((run) => ({ type: 'StepStarted', data: { ...run } })),
    );
    if (E.isLeft(started)) return { _tag: 'SagaConflict' };

    // One signal for the batch: when any result cannot be written, another worker owns the
    // saga now, and the steps still running are told to stop.
    const batch = new AbortController();
    const stopBatch = () => batch.abort(this.signal.reason);
    this.signal.addEventListener('abort', stopBatch, { once: true });
    try {
      const outcomes = await Promise.all(
        runs.map(async (run) => {
          const outcome = await this.#attempt(definition, state, run, batch.signal);
          if (this.signal.aborted) return 'interrupted' as const;
          const written = await writer.append(outcome.events, outcome.at);
          if (E.isLeft(written)) batch.abort();
          return E.isLeft(written) ? ('conflict' as const) : ('written' as const);
        }),
      );
      if (outcomes.includes('conflict')) return { _tag: 'SagaConflict' };
      if (outcomes.includes('interrupted')) return { _tag: 'SagaInterrupted' };
      return 'continue';
    } finally {
      this.signal.removeEventListener('abort', stopBatch);
    }
  }

  /** Runs one attempt of a step; returns the events that record its outcome, and when. */
  async #attempt(
    definition: AnySagaDefinition,
    state: StartedSagaState,
    run: StepRun,
    signal: AbortSignal,
  ): Promise<{ readonly events: SagaEvent[]; readonly at: Date }> {
    const step = definition.stepNamed(run.step);
    if (!step) throw new Error(`saga ${definition.name} has no step ${run.step}`);
    const ctx = this.#context(state, run.step, run.attempt, signal);
    const results = resultsFor(state, step.name, step.dependsOn);

    let output: unknown;
    try {
      output = await step.run({ input: state.input, results }, ctx);
    } catch (thrown) {
      const at = this.deps.clock.now();
      return { events: this.#failureEvents(definition, run, thrown, at), at };
    }
    const at = this.deps.clock.now();
    const storable = encodeValue(output, `${run.step}.output`);
    if (E.isLeft(storable)) {
      const failure = {
        name: 'UnsupportedValueFailure',
        message: `${storable.left.path}: ${storable.left.reason}`,
      };
      const data = { step: run.step, attempt: run.attempt, failure, retryable: false };
      return { events: [{ type: 'StepFailed', data }], at };
    }
    ctx.logger.debug('step completed');
    this.deps.notify?.({ type: 'saga:step:completed', sagaId: this.sagaId, step: run.step });
    return {
      events: [{ type: 'StepCompleted', data: { step: run.step, attempt: run.attempt, output } }],
      at,
    };
  }

  #failureEvents(
    definition: AnySagaDefinition,
    run: StepRun,
    thrown: unknown,
    at: Date,
  ): SagaEvent[] {
    const step = definition.stepNamed(run.step);
    const failure = toRecordedFailure(thrown);
    const policy = step?.retry;
    const retryable =
      run.attempt < maxAttemptsOf(policy) &&
      !isMarkedNonRetryable(thrown) &&
      (policy?.retryIf?.(thrown) ?? true);
    const failed: SagaEvent = {
      type: 'StepFailed',
      data: { step: run.step, attempt: run.attempt, failure, retryable },
    };
    const log = this.deps.logger.child({
      sagaId: this.sagaId,
      step: run.step,
      attempt: run.attempt,
    });
    if (!retryable) {
      log.debug({ err: failure }, 'step failed');
      this.deps.notify?.({
        type: 'saga:step:failed',
        sagaId: this.sagaId,
        step: run.step,
        failure,
        retryAt: null,
      });
      return [failed];
    }
    const random = this.deps.random ?? Math.random;
    const delayMs = computeRetryDelayMs(policy, run.attempt + 1, random());
    const dueAt = new Date(at.getTime() + delayMs).toISOString();
    log.warn({ err: failure, dueAt }, 'step retry scheduled');
    this.deps.notify?.({
      type: 'saga:step:failed',
      sagaId: this.sagaId,
      step: run.step,
      failure,
      retryAt: dueAt,
    });
    return [
      failed,
      { type: 'StepRetryScheduled', data: { step: run.step, attempt: run.attempt + 1, dueAt } },
    ];
  }

  async #compensate(
    definition: AnySagaDefinition,
    state: StartedSagaState,
    name: string,
  ): Promise<Step> {
    const step = definition.stepNamed(name);
    const recorded = state.steps[name];
    if (!step?.compensate || recorded?.status !== 'completed') {
      throw new Error(`step ${name} of saga ${this.sagaId} cannot be compensated`);
    }
    const ctx = {
      ...this.#context(state, name, recorded.attempt, this.signal),
      idempotencyKey: `${this.sagaId}:${name}:compensate`,
      input: state.input,
    };
    try {
      await step.compensate(recorded.output, ctx);
    } catch (thrown) {
      const failure = toRecordedFailure(thrown);
      ctx.logger.warn({ err: failure }, 'compensation failed');
      return this.#write(state, [
        { type: 'StepCompensationFailed', data: { step: name, failure } },
      ]);
    }
    ctx.logger.debug('step compensated');
    return this.#write(state, [{ type: 'StepCompensated', data: { step: name } }]);
  }
}

function terminalStatus(state: StartedSagaState): 'completed' | 'compensated' | 'failed' {
  switch (state.status) {
    case 'completed':
    case 'compensated':
    case 'failed':
      return state.status;
    default:
      throw new Error(`saga ${state.sagaId} is ${state.status}, not terminal`);
  }
}

function resultsFor(
  state: StartedSagaState,
  step: string,
  dependsOn: readonly string[],
): StepResults {
  return {
    get<Output>(dependency: { readonly name: string }): Output {
      const recorded = state.steps[dependency.name];
      if (!dependsOn.includes(dependency.name) || recorded?.status !== 'completed') {
        throw new Error(
          `step ${step} reads the result of ${dependency.name}, which is not among its dependencies`,
        );
      }
      // The output was produced by this very step definition's `run`, whose type is Output.
      return recorded.output as Output;
    },
  };
}

/**
 * Advances one saga as far as it can go now: replays its stream, decides, runs the steps,
 * records their outcomes, and repeats until the saga ends, waits for a retry, loses its
 * stream to another writer, or `signal` fires.
 */
export function advanceSaga(
  deps: SagaRunnerDeps,
  sagaId: SagaId,
  signal: AbortSignal,
): Promise<E.Either<SagaRunFailure, SagaRunOutcome>> {
  return new SagaRun(deps, sagaId, signal).run();
}
