import * as E from 'fp-ts/lib/Either.js';

import type { StepRun } from '../core/decide.js';
import type { StepBody, StepContext } from '../core/definition.js';
import type { RecordedFailure, SagaEvent } from '../core/events.js';
import { isMarkedNonRetryable, toRecordedFailure } from '../core/failure.js';
import { computeRetryDelayMs, maxAttemptsOf, type RetryPolicy } from '../core/retry.js';
import { encodeValue } from '../core/values.js';
import { isHaltRequest, runInStepContext } from './step-context.js';

/** What one attempt needs besides the step itself. */
export interface AttemptSetup {
  readonly run: StepRun;
  readonly body: Extract<StepBody, { kind: 'task' | 'map' }>;
  /** The element, for an element of a map step. */
  readonly item: unknown;
  readonly args: Parameters<Extract<StepBody, { kind: 'task' }>['run']>[0];
  readonly ctx: StepContext;
  readonly retry: RetryPolicy | undefined;
  readonly timeoutMs: number | undefined;
  /** Attempts so far that were interrupted rather than failed; they do not use up retries. */
  readonly interruptions: number;
  readonly now: () => Date;
  readonly random: () => number;
}

/** How an attempt ended, as events to record. */
export interface AttemptOutcome {
  readonly events: SagaEvent[];
  /** When it ended; the events' time. */
  readonly at: Date;
  /** True when it ended because its signal fired (shutdown, rollback, lost lease). */
  readonly aborted: boolean;
  readonly failure: RecordedFailure | null;
  readonly retryAt: string | null;
}

const TIMED_OUT = Symbol('timed out');

function raceTimeout<Value>(
  work: Promise<Value>,
  timeoutMs: number | undefined,
  onTimeout: () => void,
): Promise<Value | typeof TIMED_OUT> {
  if (timeoutMs === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => {
      onTimeout();
      resolve(TIMED_OUT);
    }, timeoutMs);
  });
  // A step that ignores its signal keeps running after the timeout; its late result is
  // dropped, and its late rejection must not go unhandled.
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function invoke(setup: AttemptSetup): Promise<unknown> {
  const { body, ctx, args, item } = setup;
  return runInStepContext(ctx, async () =>
    body.kind === 'map' ? body.run(item, args, ctx) : body.run(args, ctx),
  );
}

function timeoutFailure(timeoutMs: number): RecordedFailure {
  return {
    name: 'StepTimeoutFailure',
    message: `the attempt did not finish within ${timeoutMs} ms`,
  };
}

/**
 * Runs one attempt of a task step or map element and says what to record: StepCompleted,
 * SagaHalted, StepRecovered, or StepFailed with a StepRetryScheduled when the policy allows.
 * Never throws for what the step does: whatever it throws becomes a recorded failure (BC-11).
 */
export async function runAttempt(
  setup: AttemptSetup,
  timeoutController: AbortController,
): Promise<AttemptOutcome> {
  const { run } = setup;
  let result: unknown;
  let thrown: { value: unknown } | undefined;
  try {
    result = await raceTimeout(invoke(setup), setup.timeoutMs, () =>
      timeoutController.abort(timeoutFailure(setup.timeoutMs ?? 0)),
    );
  } catch (error) {
    thrown = { value: error };
  }
  const at = setup.now();
  const aborted = setup.ctx.signal.aborted && !timeoutController.signal.aborted;
  const base = { at, aborted, failure: null, retryAt: null };

  if (thrown && isHaltRequest(thrown.value)) {
    const data = { step: run.step, attempt: run.attempt, reason: thrown.value.reason };
    return { ...base, events: [{ type: 'SagaHalted', data }] };
  }
  if (result === TIMED_OUT)
    return failedAttempt(setup, timeoutFailure(setup.timeoutMs ?? 0), null, at);
  if (thrown) return failedAttempt(setup, toRecordedFailure(thrown.value), thrown.value, at);

  const storable = encodeValue(result, `${run.step}.output`);
  if (E.isLeft(storable)) {
    const failure = {
      name: 'UnsupportedValueFailure',
      message: `${storable.left.path}: ${storable.left.reason}`,
    };
    const data = { step: run.step, attempt: run.attempt, failure, retryable: false };
    return { ...base, failure, events: [{ type: 'StepFailed', data }] };
  }
  const data = { step: run.step, attempt: run.attempt, output: result };
  return { ...base, events: [{ type: 'StepCompleted', data }] };
}

function isRetryable(setup: AttemptSetup, thrown: unknown): boolean {
  const attemptsUsed = setup.run.attempt - setup.interruptions;
  if (attemptsUsed >= maxAttemptsOf(setup.retry)) return false;
  if (isMarkedNonRetryable(thrown)) return false;
  return setup.retry?.retryIf?.(thrown) ?? true;
}

async function failedAttempt(
  setup: AttemptSetup,
  failure: RecordedFailure,
  thrown: unknown,
  at: Date,
): Promise<AttemptOutcome> {
  const { run, ctx } = setup;
  const aborted = ctx.signal.aborted;
  const failed = (retryable: boolean): SagaEvent => ({
    type: 'StepFailed',
    data: { step: run.step, attempt: run.attempt, failure, retryable },
  });

  if (!aborted && isRetryable(setup, thrown)) {
    const delayMs = computeRetryDelayMs(setup.retry, run.attempt + 1, setup.random());
    const dueAt = new Date(at.getTime() + delayMs).toISOString();
    const retry: SagaEvent = {
      type: 'StepRetryScheduled',
      data: { step: run.step, attempt: run.attempt + 1, dueAt },
    };
    return { events: [failed(true), retry], at, aborted, failure, retryAt: dueAt };
  }

  if (!aborted && setup.body.kind === 'task' && setup.body.recover) {
    try {
      const output = await runInStepContext(ctx, () => recoverWith(setup, thrown));
      const storable = encodeValue(output, `${run.step}.output`);
      if (E.isRight(storable)) {
        const data = { step: run.step, attempt: run.attempt, failure, output };
        return {
          events: [{ type: 'StepRecovered', data }],
          at,
          aborted,
          failure: null,
          retryAt: null,
        };
      }
    } catch {
      // The recovery declined (or broke): the original failure stands.
    }
  }
  return { events: [failed(false)], at, aborted, failure, retryAt: null };
}

function recoverWith(setup: AttemptSetup, thrown: unknown): Promise<unknown> {
  const { body, ctx } = setup;
  if (body.kind !== 'task' || !body.recover) return Promise.reject(new Error('no recovery'));
  return body.recover(thrown, ctx);
}
