import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { describe, expect, it } from 'vitest';

import { type Decision, decide } from '../../src/core/decide.js';
import { defineSaga } from '../../src/core/definition.js';
import { CHILD_ABANDONED_FAILURE, IN_DOUBT_FAILURE } from '../../src/core/engine-failures.js';
import type { SagaEvent } from '../../src/core/events.js';
import { replay } from '../../src/core/evolve.js';
import { childSagaIdOf, SagaId } from '../../src/core/ids.js';
import type { SagaState } from '../../src/core/state.js';
import { sagaEvents as ev, recordHistory } from '../support/history.js';

const noop = async () => ({});
const undo = async () => {};

/** reserve -> charge -> ship, each with an undo. */
const order = defineSaga({
  name: 'test',
  version: 1,
  input: t.type({}),
  steps: (step) => {
    const reserve = step('reserve', { run: noop, compensate: undo });
    const charge = step('charge', { after: [reserve], run: noop, compensate: undo });
    const ship = step('ship', { after: [charge], run: noop, compensate: undo });
    return [reserve, charge, ship];
  },
});

const NOW = new Date('2026-06-01T00:00:00.000Z');

function stateAfter(events: readonly SagaEvent[]): SagaState {
  const folded = replay(recordHistory('s1', events));
  if (E.isLeft(folded)) throw new Error(`history does not fold: ${folded.left.detail}`);
  return folded.right;
}

function decideAfter(events: readonly SagaEvent[]): Decision {
  return decide(order, stateAfter(events), NOW);
}

const STEPS = ['reserve', 'charge', 'ship'] as const;

/** Events of a run where the steps before `failing` completed and `failing` failed for good. */
function historyFailingAt(failing: number): SagaEvent[] {
  const events: SagaEvent[] = [ev.started('s1')];
  for (const [i, step] of STEPS.entries()) {
    events.push(ev.stepStarted('s1', step));
    if (i === failing) {
      events.push(ev.stepFailed(step));
      return events;
    }
    events.push(ev.stepCompleted(step));
  }
  return events;
}

describe('decide', () => {
  it('runs the first step of a new saga', () => {
    expect(decideAfter([ev.started('s1')])).toEqual({
      type: 'runSteps',
      runs: [{ step: 'reserve', attempt: 1, idempotencyKey: 's1:reserve' }],
    });
  });

  it('runs a step once every step it depends on has completed', () => {
    const events = [ev.started('s1'), ev.stepStarted('s1', 'reserve'), ev.stepCompleted('reserve')];
    expect(decideAfter(events)).toEqual({
      type: 'runSteps',
      runs: [{ step: 'charge', attempt: 1, idempotencyKey: 's1:charge' }],
    });
  });

  it('completes the saga when every step has completed', () => {
    const events = historyFailingAt(-1);
    expect(stateAfter(events).status).toBe('running');
    expect(decideAfter(events)).toEqual({ type: 'completeSaga' });
    expect(decideAfter([...events, { type: 'SagaCompleted', data: {} }])).toEqual({
      type: 'finished',
    });
  });

  for (const [failing, step] of STEPS.entries()) {
    it(`compensates the steps before ${step} in reverse order when ${step} fails`, () => {
      const events = historyFailingAt(failing);
      expect(decideAfter(events)).toEqual({
        type: 'startCompensation',
        step,
        failure: { name: 'Error', message: `${step} broke` },
      });

      events.push(ev.compensationStarted(step));
      const undone: string[] = [];
      for (;;) {
        const decision = decideAfter(events);
        if (decision.type !== 'compensateStep') {
          expect(decision).toEqual({ type: 'finishCompensation' });
          break;
        }
        undone.push(decision.step);
        events.push(ev.stepCompensated(decision.step));
      }
      expect(undone).toEqual(STEPS.slice(0, failing).reverse());
      expect(stateAfter([...events, { type: 'SagaCompensated', data: {} }]).status).toBe(
        'compensated',
      );
    });
  }

  it('follows the order of completion, not of declaration, for independent steps', () => {
    const parallel = defineSaga({
      name: 'test',
      version: 1,
      input: t.type({}),
      steps: (step) => {
        const a = step('a', { run: noop, compensate: undo });
        const b = step('b', { run: noop, compensate: undo });
        const c = step('c', { after: [a, b], run: noop });
        return [a, b, c];
      },
    });
    const events = [
      ev.started('s1'),
      ev.stepStarted('s1', 'a'),
      ev.stepStarted('s1', 'b'),
      ev.stepCompleted('b'),
      ev.stepCompleted('a'),
      ev.stepStarted('s1', 'c'),
      ev.stepFailed('c'),
      ev.compensationStarted('c'),
    ];
    expect(decide(parallel, stateAfter(events), NOW)).toEqual({
      type: 'compensateStep',
      step: 'a',
      undo: 'output',
      attempt: 1,
    });
    events.push(ev.stepCompensated('a'));
    expect(decide(parallel, stateAfter(events), NOW)).toEqual({
      type: 'compensateStep',
      step: 'b',
      undo: 'output',
      attempt: 1,
    });
  });

  it('retries an in-doubt step with the same idempotency key when its policy allows', () => {
    const retrying = defineSaga({
      name: 'test',
      version: 1,
      input: t.type({}),
      steps: (step) => [step('a', { run: noop, retry: { maxAttempts: 3 } })],
    });
    const events = [ev.started('s1'), ev.stepStarted('s1', 'a')];
    expect(decide(retrying, stateAfter(events), NOW)).toEqual({
      type: 'runSteps',
      runs: [{ step: 'a', attempt: 2, idempotencyKey: 's1:a' }],
    });
  });

  it('records an in-doubt step as failed when it has no attempts left', () => {
    expect(decideAfter([ev.started('s1'), ev.stepStarted('s1', 'reserve')])).toEqual({
      type: 'failInDoubtSteps',
      steps: [{ step: 'reserve', attempt: 1, failure: IN_DOUBT_FAILURE }],
    });
  });

  it('waits for a scheduled retry until it is due, then runs it', () => {
    const dueAt = '2026-06-01T00:00:05.000Z';
    const events = [
      ev.started('s1'),
      ev.stepStarted('s1', 'reserve'),
      ev.stepFailed('reserve', true),
      ev.retryScheduled('reserve', 2, dueAt),
    ];
    expect(decideAfter(events)).toEqual({ type: 'wait', until: dueAt });
    expect(decide(order, stateAfter(events), new Date(dueAt))).toEqual({
      type: 'runSteps',
      runs: [{ step: 'reserve', attempt: 2, idempotencyKey: 's1:reserve' }],
    });
  });

  it('fails the saga when an undo fails, keeping the original failure as cause', () => {
    const events = [
      ...historyFailingAt(1),
      ev.compensationStarted('charge'),
      {
        type: 'StepCompensationFailed',
        data: { step: 'reserve', failure: { name: 'Error', message: 'undo broke' } },
      } as const,
    ];
    expect(decideAfter(events)).toEqual({
      type: 'failSaga',
      failure: { name: 'Error', message: 'undo broke' },
      cause: { name: 'Error', message: 'charge broke' },
    });
  });
});

describe('replay', () => {
  it('refuses a history whose event cannot follow, naming the revision', () => {
    const folded = replay(recordHistory('s1', [ev.started('s1'), ev.stepCompleted('reserve')]));
    expect(folded).toEqual(
      E.left(
        expect.objectContaining({
          _tag: 'HistoryFailure',
          revision: 1n,
          eventType: 'StepCompleted',
        }),
      ),
    );
  });
});

describe('decide for a child saga step', () => {
  const child = defineSaga({
    name: 'child',
    version: 1,
    input: t.type({}),
    steps: (step) => [step('box', { run: noop, compensate: undo })],
  });
  const parent = defineSaga({
    name: 'parent',
    version: 1,
    input: t.type({}),
    steps: (step) => [step.child('pack', { saga: child, input: () => ({}) })],
  });
  const parentId = SagaId.decode('s1');
  if (E.isLeft(parentId)) throw new Error('s1 is not a saga id');
  const childId = childSagaIdOf(parentId.right, 'pack');
  const startedPack: SagaEvent = {
    type: 'StepStarted',
    data: { step: 'pack', attempt: 1, idempotencyKey: childId },
  };
  const childStarted: SagaEvent = {
    type: 'ChildSagaStarted',
    data: { step: 'pack', attempt: 1, childSagaId: childId, saga: 'child' },
  };
  const cancel: SagaEvent = { type: 'SagaCancelRequested', data: { reason: 'stop' } };
  const decideParent = (events: readonly SagaEvent[]) => decide(parent, stateAfter(events), NOW);

  it('goes on starting the same child when its start is in doubt, whatever its retry policy', () => {
    expect(decideParent([ev.started('s1'), startedPack])).toEqual({
      type: 'startChild',
      step: 'pack',
      attempt: 1,
    });
  });

  it('records a child still running as abandoned before a rollback, then undoes it', () => {
    const running = [ev.started('s1'), startedPack, childStarted, cancel];
    expect(decideParent(running)).toEqual({
      type: 'failInDoubtSteps',
      steps: [{ step: 'pack', attempt: 1, failure: CHILD_ABANDONED_FAILURE }],
    });
    const abandoned: SagaEvent = {
      type: 'StepFailed',
      data: { step: 'pack', attempt: 1, failure: CHILD_ABANDONED_FAILURE, retryable: false },
    };
    const rolling = [...running, abandoned, ev.compensationStarted(null)];
    expect(decideParent(rolling)).toEqual({
      type: 'compensateStep',
      step: 'pack',
      undo: 'attempt',
      attempt: 1,
    });
  });

  it('undoes nothing of a child that ended rolled back by itself', () => {
    const failure = { name: 'ChildSagaFailure', message: 'child saga s1.pack ended compensated' };
    const events: SagaEvent[] = [
      ev.started('s1'),
      startedPack,
      childStarted,
      { type: 'StepFailed', data: { step: 'pack', attempt: 1, failure, retryable: false } },
      ev.compensationStarted('pack'),
    ];
    expect(decideParent(events)).toEqual({ type: 'finishCompensation' });
  });
});
