import * as E from 'fp-ts/lib/Either.js';

import { type Decision, decide, definitionOfStep, type StepRun } from '../core/decide.js';
import type { AnySagaDefinition, StepContext, StepDefinition } from '../core/definition.js';
import type { SagaEvent, StreamEvent } from '../core/events.js';
import { replay } from '../core/evolve.js';
import { childSagaIdOf, type SagaId, sagaStreamName } from '../core/ids.js';
import { argsFor } from '../core/results.js';
import {
  initialSagaState,
  parseMapElementName,
  type SagaState,
  type StartedSagaState,
  stepStateOf,
  terminalStatus,
} from '../core/state.js';
import { checkChildSaga, startChildSaga } from './child-sagas.js';
import { runCompensation } from './run-compensation.js';
import { announceAttempt } from './saga-notification.js';
import type {
  InterruptReason,
  SagaRunFailure,
  SagaRunnerDeps,
  SagaRunOutcome,
} from './saga-run-outcome.js';
import { type AttemptOutcome, runAttempt } from './step-attempt.js';
import { requestHalt } from './step-context.js';
import { foldPending, type PendingEvent, StreamWriter } from './stream-writer.js';

/**
 * What one move of the run leads to: go on deciding, decide again because operators' commands
 * arrived before this run's decisions could be written (they are folded in now), or an outcome.
 */
type Step = 'continue' | 'redecide' | SagaRunOutcome;

/** A step attempt this run has in flight. */
interface InFlight {
  readonly done: Promise<void>;
}

class SagaRun {
  readonly #streamName;
  /** The state as written: every event of the stream up to its revision. */
  #state: SagaState = initialSagaState;
  #lastEventId: string | null = null;
  #writer: StreamWriter | undefined;
  /**
   * Outcomes of finished attempts not written yet. They go out with the next append, so a
   * step's result and the start of the steps it unblocks cost one commit, not two.
   */
  #pending: PendingEvent[] = [];
  readonly #inFlight = new Map<string, InFlight>();
  /** Attempts that ended, with the events that record them, in the order they ended. */
  readonly #ended: { readonly step: string; readonly events: readonly PendingEvent[] }[] = [];
  /** Fires to stop the attempts in flight: rollback, conflict, or the run's own signal. */
  readonly #attempts = new AbortController();
  #conflict = false;
  /** True when the stream may hold events this run has not read (at start, after a notify). */
  #stale = true;
  /** Resolves when an attempt ends or the stream gets events from elsewhere. */
  #wakeUp: Promise<void> = Promise.resolve();
  #appends = 0;
  #notified = 0;
  #wake: () => void = () => {};

  constructor(
    private readonly deps: SagaRunnerDeps,
    private readonly sagaId: SagaId,
    private readonly signal: AbortSignal,
  ) {
    this.#streamName = sagaStreamName(sagaId);
    signal.addEventListener('abort', () => this.#attempts.abort(signal.reason), { once: true });
  }

  async run(): Promise<E.Either<SagaRunFailure, SagaRunOutcome>> {
    this.#rearm();
    const unwatch = this.deps.watchStream?.(this.#streamName, () => {
      // Each of this run's own appends is announced too; only a notification beyond those can
      // carry someone else's event. A miscount costs one read, or a delay until the next append,
      // which meets the foreign event anyway.
      this.#notified += 1;
      if (this.#notified > this.#appends) {
        this.#stale = true;
        this.#wake();
      }
    });
    try {
      return await this.#loop();
    } finally {
      unwatch?.();
      // Whatever ended the run, nothing it started is left running unrecorded.
      if (this.#inFlight.size > 0) {
        this.#attempts.abort();
        await Promise.allSettled([...this.#inFlight.values()].map((entry) => entry.done));
      }
      this.#collectEnded();
      if (this.#mayWrite() && this.#pending.length > 0) await this.#write([]);
    }
  }

  /** A run that lost its lease, or its stream, must not write any more. */
  #mayWrite(): boolean {
    return !this.#conflict && !(this.signal.aborted && this.signal.reason === 'lease-lost');
  }

  async #loop(): Promise<E.Either<SagaRunFailure, SagaRunOutcome>> {
    let definition: AnySagaDefinition | undefined;
    for (;;) {
      if (this.#conflict) return E.right({ _tag: 'SagaConflict' });
      if (this.signal.aborted) return E.right({ _tag: 'SagaInterrupted' });

      this.#collectEnded();
      if (this.#stale) {
        const loaded = await this.#catchUp();
        if (E.isLeft(loaded)) return loaded;
      }
      const state = this.#provisionalState();
      if (E.isLeft(state)) return state;

      if (!definition) {
        const { saga, version, definitionHash } = state.right;
        const resolved = this.deps.registry.resolve(saga, version, definitionHash);
        if (E.isLeft(resolved)) return resolved;
        definition = resolved.right;
      }

      const inFlight = new Set(this.#inFlight.keys());
      const decision = decide(definition, state.right, this.deps.clock.now(), inFlight);
      const step = await this.#act(definition, state.right, decision);
      if (step === 'continue' || step === 'redecide') continue;
      if (this.#pending.length > 0 && this.#mayWrite()) {
        const flushed = await this.#write([]);
        if (flushed === 'redecide') continue;
        if (flushed !== 'continue') return E.right(flushed);
      }
      return E.right(step);
    }
  }

  /** Moves the outcomes of attempts that ended into the pending events. */
  #collectEnded(): void {
    for (const { step, events } of this.#ended.splice(0)) {
      this.#inFlight.delete(step);
      this.#pending.push(...events);
    }
  }

  /** Reads the events others appended since the last read and folds them in. */
  async #catchUp(): Promise<E.Either<SagaRunFailure, StartedSagaState>> {
    this.#stale = false;
    const from = this.#state.status === 'initial' ? 0n : this.#state.revision + 1n;
    const read = await this.deps.store.readStream(this.#streamName, from);
    if (E.isLeft(read)) return read;
    return this.#fold(read.right);
  }

  #fold(events: readonly StreamEvent[]): E.Either<SagaRunFailure, StartedSagaState> {
    const folded = replay(events, this.#state);
    if (E.isLeft(folded)) return folded;
    this.#state = folded.right;
    this.#lastEventId = events.at(-1)?.eventId ?? this.#lastEventId;
    if (this.#state.status === 'initial') {
      return E.left({ _tag: 'SagaNotFoundFailure', sagaId: this.sagaId });
    }
    this.#writer ??= new StreamWriter(
      this.deps.store,
      this.deps.ids,
      this.#streamName,
      this.#state,
      this.#lastEventId,
    );
    return E.right(this.#state);
  }

  /** The written state with the pending events folded in after it. */
  #provisionalState(): E.Either<SagaRunFailure, StartedSagaState> {
    const state = this.#state;
    if (state.status === 'initial') {
      return E.left({ _tag: 'SagaNotFoundFailure', sagaId: this.sagaId });
    }
    return foldPending(state, this.#pending);
  }

  /**
   * Writes the pending outcomes, then `events`, in one append. `events` are decisions unless
   * `kind` says they are outcomes (what an undo did, what a child became). When operators'
   * commands arrive first, they are folded in; decisions made without them are dropped, and the
   * run decides again (`redecide`), while outcomes stay pending for the next append.
   */
  async #write(
    events: readonly SagaEvent[],
    kind: 'decision' | 'outcome' = 'decision',
    at: Date = this.deps.clock.now(),
  ): Promise<Step> {
    if (!this.#writer) throw new Error('no writer before the first read');
    const fresh = events.map((event) => ({ event, at }));
    const facts = kind === 'outcome' ? [...this.#pending, ...fresh] : this.#pending;
    const decisions = kind === 'outcome' ? [] : fresh;
    if (facts.length === 0 && decisions.length === 0) return 'continue';
    const appended = await this.#writer.append(facts, decisions);
    if (E.isLeft(appended)) {
      this.#conflict = true;
      this.#attempts.abort();
      return { _tag: 'SagaConflict' };
    }
    const outcome = appended.right;
    const written = outcome._tag === 'Written' ? outcome.written : [];
    this.#appends += outcome.foreign.length + (written.length > 0 ? 1 : 0);
    this.#pending = outcome._tag === 'Written' ? [] : facts;
    const folded = this.#fold([...outcome.foreign, ...written]);
    if (E.isLeft(folded)) throw new Error(`own events do not fold: ${JSON.stringify(folded.left)}`);
    return outcome._tag === 'Written' ? 'continue' : 'redecide';
  }

  async #act(
    definition: AnySagaDefinition,
    state: StartedSagaState,
    decision: Decision,
  ): Promise<Step> {
    switch (decision.type) {
      case 'skipSteps':
        return this.#write(decision.steps.map((data) => ({ type: 'StepSkipped', data })));
      case 'runSteps':
        return this.#startAttempts(definition, state, decision.runs);
      case 'drainInFlight':
        return this.#drain(decision.abort);
      case 'startChild':
        return this.#startChild(definition, state, decision);
      case 'checkChildren':
        return this.#checkChildren(state, decision.children);
      case 'resumeStep': {
        const output = state.resumePayload?.payload;
        const data = { step: decision.step, attempt: decision.attempt, output };
        return this.#write([{ type: 'StepCompleted', data }]);
      }
      case 'failInDoubtSteps':
        return this.#write(
          decision.steps.map(({ step, attempt, failure }) => ({
            type: 'StepFailed',
            data: { step, attempt, failure, retryable: false },
          })),
        );
      case 'startCompensation':
        this.deps.notify?.({ type: 'saga:compensating', sagaId: this.sagaId, step: decision.step });
        return this.#write([
          { type: 'CompensationStarted', data: { step: decision.step, failure: decision.failure } },
        ]);
      case 'compensateStep':
        return this.#compensate(definition, state, decision);
      case 'completeSaga':
        return this.#finish(state, { type: 'SagaCompleted', data: parentData(state) }, 'completed');
      case 'finishCompensation':
        return this.#finish(
          state,
          { type: 'SagaCompensated', data: parentData(state) },
          'compensated',
        );
      case 'failSaga': {
        const data = { failure: decision.failure, cause: decision.cause, ...parentData(state) };
        return this.#finish(state, { type: 'SagaFailed', data }, 'failed');
      }
      case 'wait':
        return { _tag: 'SagaWaiting', until: decision.until };
      case 'finished':
        return { _tag: 'SagaFinished', status: terminalStatus(state) };
    }
  }

  #rearm(): void {
    this.#wakeUp = new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /**
   * Writes what is pending, then waits for a step in flight to end, or for the stream to get an
   * event from elsewhere: a cancel then reaches the steps still running.
   */
  async #drain(abort: boolean): Promise<Step> {
    if (abort) this.#attempts.abort();
    if (this.#pending.length > 0) {
      const written = await this.#write([]);
      if (written !== 'continue') return written;
    }
    if (this.#ended.length === 0 && this.#inFlight.size > 0) await this.#wakeUp;
    this.#rearm();
    return 'continue';
  }

  /**
   * Records the start of a child saga step, then starts the child, then records the child. The
   * start is written first so that no child exists that its parent's history does not explain:
   * a parent that stops in between finds the step in doubt and starts the same child again, or,
   * rolling back, looks for the child to undo it.
   */
  async #startChild(
    definition: AnySagaDefinition,
    state: StartedSagaState,
    decision: Extract<Decision, { type: 'startChild' }>,
  ): Promise<Step> {
    const step = definition.stepNamed(decision.step);
    if (step?.body.kind !== 'child') {
      throw new Error(`step ${decision.step} is not a child saga step`);
    }
    const current = stepStateOf(state, decision.step);
    if (current.status !== 'running' || current.attempt !== decision.attempt) {
      const data = {
        step: decision.step,
        attempt: decision.attempt,
        idempotencyKey: childSagaIdOf(state.sagaId, decision.step),
      };
      const written = await this.#write([{ type: 'StepStarted', data }]);
      if (written !== 'continue') return written;
    }
    // A run that lost its lease meanwhile leaves the child to the saga's new owner.
    if (!this.#mayWrite()) return { _tag: 'SagaInterrupted' };
    const { attempt } = decision;
    const child = { ...step, body: step.body };
    const events = await startChildSaga(this.deps, state, child, attempt, this.#lastEventId);
    return this.#write(events, 'outcome');
  }

  async #checkChildren(
    state: StartedSagaState,
    children: readonly { step: string; childSagaId: string }[],
  ): Promise<Step> {
    const events: SagaEvent[] = [];
    for (const { step } of children) {
      const current = stepStateOf(state, step);
      if (current.status !== 'awaitingChild') continue;
      events.push(...(await checkChildSaga(this.deps, step, current.attempt, current.childSagaId)));
    }
    if (events.length > 0) return this.#write(events, 'outcome');
    if (this.#inFlight.size > 0) return this.#drain(false);
    return { _tag: 'SagaWaiting', until: null };
  }

  async #finish(
    state: StartedSagaState,
    event: SagaEvent,
    status: 'completed' | 'compensated' | 'failed',
  ): Promise<Step> {
    const written = await this.#write([event]);
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
      halt: requestHalt,
    };
  }

  async #startAttempts(
    definition: AnySagaDefinition,
    state: StartedSagaState,
    runs: readonly StepRun[],
  ): Promise<Step> {
    const written = await this.#write(
      runs.map((run) => ({ type: 'StepStarted', data: { ...run } })),
    );
    if (written !== 'continue') return written;
    for (const run of runs) {
      const step = definitionOfStep(definition, run.step);
      if (!step) throw new Error(`saga ${definition.name} has no step ${run.step}`);
      const done = this.#attempt(state, step, run).then((events) => {
        this.#ended.push({ step: run.step, events });
        this.#wake();
      });
      this.#inFlight.set(run.step, { done });
    }
    return 'continue';
  }

  /** Runs one attempt; resolves with the events that record its outcome (none to drop it). */
  async #attempt(
    state: StartedSagaState,
    step: StepDefinition<unknown, unknown>,
    run: StepRun,
  ): Promise<PendingEvent[]> {
    const { body } = step;
    if (body.kind === 'child') throw new Error(`step ${step.name} is a child saga step`);
    const timeout = new AbortController();
    const signal = AbortSignal.any([this.#attempts.signal, timeout.signal]);
    const element = parseMapElementName(run.step);
    const args = argsFor(state, step);
    const previous = stepStateOf(state, run.step);
    const outcome = await runAttempt(
      {
        run,
        body,
        item: element && body.kind === 'map' ? body.over(args)[element.index] : undefined,
        args,
        ctx: this.#context(state, run.step, run.attempt, signal),
        retry: step.options.retry,
        timeoutMs: step.options.timeoutMs,
        interruptions: previous.status === 'retryScheduled' ? previous.interruptions : 0,
        now: () => this.deps.clock.now(),
        random: this.deps.random ?? Math.random,
      },
      timeout,
    );
    return this.#record(run, outcome);
  }

  #record(run: StepRun, outcome: AttemptOutcome): PendingEvent[] {
    // A lost lease or stream means another worker owns the saga now: record nothing.
    if (!this.#mayWrite()) return [];
    // At shutdown, an attempt that was cut short is handed back as interrupted, not failed,
    // and uses up no attempt (BC-25).
    if (outcome.aborted && this.signal.aborted && outcome.events[0]?.type !== 'StepCompleted') {
      const data = { step: run.step, attempt: run.attempt, reason: 'worker shutdown' };
      return [{ event: { type: 'StepInterrupted', data }, at: outcome.at }];
    }
    announceAttempt(this.deps, this.sagaId, run.step, outcome);
    return outcome.events.map((event) => ({ event, at: outcome.at }));
  }

  async #compensate(
    definition: AnySagaDefinition,
    state: StartedSagaState,
    decision: Extract<Decision, { type: 'compensateStep' }>,
  ): Promise<Step> {
    const { step, attempt } = decision;
    const ctx = this.#context(state, step, attempt, new AbortController().signal);
    const undone = await runCompensation(this.deps, definition, state, decision, ctx);
    if (undone === 'waiting') return { _tag: 'SagaWaiting', until: null };
    return this.#write(undone.events, 'outcome', undone.at);
  }
}

function parentData(state: StartedSagaState) {
  return state.parent ? { parent: state.parent } : {};
}

/**
 * Advances one saga as far as it can go now: replays its stream, decides, runs the steps,
 * records their outcomes, and repeats until the saga ends, waits (for a retry, a command or a
 * child), loses its stream to another writer, or `signal` fires. Abort the signal with an
 * {@link InterruptReason} so the run knows whether it may still write.
 */
export function advanceSaga(
  deps: SagaRunnerDeps,
  sagaId: SagaId,
  signal: AbortSignal,
): Promise<E.Either<SagaRunFailure, SagaRunOutcome>> {
  return new SagaRun(deps, sagaId, signal).run();
}
