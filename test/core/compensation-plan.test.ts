import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { describe, expect, it } from 'vitest';

import { planCompensation } from '../../src/core/compensation-plan.js';
import { decide } from '../../src/core/decide.js';
import { defineSaga } from '../../src/core/definition.js';
import type { SagaEvent } from '../../src/core/events.js';
import { evolve, replay } from '../../src/core/evolve.js';
import type { SagaState } from '../../src/core/state.js';
import { sagaEvents as ev, recordHistory } from '../support/history.js';

const noop = async () => ({});
const undo = async () => {};

/** a and b independent, c after both, d (no undo) after c, e after d with an attempt undo. */
const saga = defineSaga({
  name: 'test',
  version: 1,
  input: t.type({}),
  steps: (step) => {
    const a = step('a', { run: noop, compensate: undo });
    const b = step('b', { run: noop, compensate: undo });
    const c = step('c', { after: [a, b], run: noop, compensate: undo });
    const d = step('d', { after: [c], run: noop });
    const e = step('e', { after: [d], run: noop, compensate: undo, compensateAttempt: undo });
    return [a, b, c, d, e];
  },
});

const NOW = new Date('2026-06-01T00:00:00.000Z');

function stateAfter(events: readonly SagaEvent[]): SagaState {
  const folded = replay(recordHistory('s1', events));
  if (E.isLeft(folded)) throw new Error(folded.left.detail);
  return folded.right;
}

/** The undos `decide` runs from `state`, in order, recording each as done. */
function undosDecided(events: readonly SagaEvent[]): string[] {
  const history = recordHistory('s1', events);
  let state = replay(history);
  if (E.isLeft(state)) throw new Error('bad history');
  let current = state.right;
  const order: string[] = [];
  for (let i = 0; i < 20; i++) {
    const decision = decide(saga, current, NOW);
    let next: SagaEvent;
    if (decision.type === 'startCompensation') next = ev.compensationStarted(decision.step);
    else if (decision.type === 'compensateStep') {
      order.push(`${decision.step}:${decision.undo}`);
      next = ev.stepCompensated(decision.step);
    } else return order;
    const revision = BigInt(history.length + i);
    const last = history.at(-1);
    if (!last) throw new Error('empty');
    current = evolve(current, { ...last, event: next, revision });
    state = E.right(current);
  }
  return order;
}

describe('planCompensation', () => {
  it('undoes completed steps newest first, keeps those without an undo, with their outputs', () => {
    const state = stateAfter([
      ev.started('s1'),
      ev.stepStarted('s1', 'b'),
      ev.stepCompleted('b', { id: 'b-1' }),
      ev.stepStarted('s1', 'a'),
      ev.stepCompleted('a', { id: 'a-1' }),
      ev.stepStarted('s1', 'c'),
      ev.stepCompleted('c', { id: 'c-1' }),
      ev.stepStarted('s1', 'd'),
      ev.stepCompleted('d'),
      ev.stepStarted('s1', 'e'),
    ]);
    const plan = planCompensation(saga, state);
    expect(plan.compensations).toEqual([
      { step: 'e', undo: 'attempt', output: undefined, attempt: 1 },
      { step: 'c', undo: 'output', output: { id: 'c-1' }, attempt: 1 },
      { step: 'a', undo: 'output', output: { id: 'a-1' }, attempt: 1 },
      { step: 'b', undo: 'output', output: { id: 'b-1' }, attempt: 1 },
    ]);
    expect(plan.kept).toEqual([{ step: 'd', reason: 'no compensation defined' }]);
    expect(plan.inDoubt).toEqual(['e']);
  });

  it('plans nothing for a compensated saga and leaves out steps already undone', () => {
    const base = [
      ev.started('s1'),
      ev.stepStarted('s1', 'a'),
      ev.stepCompleted('a'),
      ev.stepStarted('s1', 'b'),
      ev.stepFailed('b'),
      ev.compensationStarted('b'),
    ];
    expect(planCompensation(saga, stateAfter(base)).compensations.map((c) => c.step)).toEqual([
      'a',
    ]);
    const undone = [...base, ev.stepCompensated('a')];
    expect(planCompensation(saga, stateAfter(undone))).toMatchObject({
      compensations: [],
      compensated: ['a'],
    });
    const ended = [...undone, { type: 'SagaCompensated', data: {} } satisfies SagaEvent];
    expect(planCompensation(saga, stateAfter(ended)).compensations).toEqual([]);
  });

  it('agrees with the order decide compensates in, for any order of completion', () => {
    const orders = fc.constantFrom(['a', 'b', 'c', 'd'], ['b', 'a', 'c', 'd'], ['a', 'b', 'c']);
    fc.assert(
      fc.property(orders, fc.nat({ max: 4 }), (completed, length) => {
        const steps = completed.slice(0, length);
        const events: SagaEvent[] = [ev.started('s1')];
        for (const step of steps) events.push(ev.stepStarted('s1', step), ev.stepCompleted(step));
        events.push(ev.compensationStarted(null));
        const planned = planCompensation(saga, stateAfter(events)).compensations.map(
          (entry) => `${entry.step}:${entry.undo}`,
        );
        expect(undosDecided(events)).toEqual(planned);
      }),
    );
  });
});
