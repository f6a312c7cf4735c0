import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { describe, expect, it } from 'vitest';

import { type Decision, decide } from '../../src/core/decide.js';
import {
  type AnySagaDefinition,
  defineSaga,
  type StepDefinition,
} from '../../src/core/definition.js';
import type { SagaEvent } from '../../src/core/events.js';
import { replay } from '../../src/core/evolve.js';
import { computeRetryDelayMs } from '../../src/core/retry.js';
import type { SagaState } from '../../src/core/state.js';
import { sagaEvents as ev, recordHistory } from '../support/history.js';

/** A random saga: step i depends on some earlier steps; some steps have an undo. */
interface Shape {
  readonly deps: readonly (readonly number[])[];
  readonly undoable: readonly boolean[];
}

const shapeArbitrary: fc.Arbitrary<Shape> = fc.integer({ min: 1, max: 8 }).chain((n) =>
  fc.record({
    deps: fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        i === 0
          ? fc.constant<number[]>([])
          : fc.uniqueArray(fc.integer({ min: 0, max: i - 1 }), { maxLength: i }),
      ),
    ),
    undoable: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
  }),
);

function defineShape(shape: Shape): AnySagaDefinition {
  return defineSaga({
    name: 'test',
    version: 1,
    input: t.type({}),
    maxConcurrency: 8,
    steps: (step) => {
      const steps: StepDefinition<Record<string, never>, unknown>[] = [];
      shape.deps.forEach((deps, i) => {
        steps.push(
          step(`s${i}`, {
            after: deps.map((d) => steps[d]).filter((s) => s !== undefined),
            run: async () => ({}),
            ...(shape.undoable[i] ? { compensate: async () => {} } : {}),
          }),
        );
      });
      return steps;
    },
  });
}

const NOW = new Date('2026-06-01T00:00:00.000Z');

function fold(events: readonly SagaEvent[]): SagaState {
  const folded = replay(recordHistory('s1', events));
  if (E.isLeft(folded)) throw new Error(`history does not fold: ${folded.left.detail}`);
  return folded.right;
}

interface Faults {
  /** The step that fails for good, if any. */
  readonly failing: string | undefined;
  /** Picks the order in which the steps of a batch finish. */
  readonly shuffle: (names: readonly string[]) => readonly string[];
}

interface Run {
  readonly events: SagaEvent[];
  /** Each decision taken, with the number of events it was taken after. */
  readonly decisions: { readonly after: number; readonly decision: Decision }[];
  readonly undone: string[];
}

/** Plays a saga to its end with the core alone: the worker's loop without I/O. */
function simulate(
  definition: AnySagaDefinition,
  faults: Faults,
  events: SagaEvent[] = [ev.started('s1')],
): Run {
  const run: Run = { events, decisions: [], undone: [] };
  for (let guard = 0; guard < 200; guard++) {
    const decision = decide(definition, fold(events), NOW);
    run.decisions.push({ after: events.length, decision });
    switch (decision.type) {
      case 'runSteps': {
        for (const { step, attempt } of decision.runs)
          events.push(ev.stepStarted('s1', step, attempt));
        for (const step of faults.shuffle(decision.runs.map((r) => r.step))) {
          events.push(step === faults.failing ? ev.stepFailed(step) : ev.stepCompleted(step));
        }
        break;
      }
      case 'startCompensation':
        events.push(ev.compensationStarted(decision.step));
        break;
      case 'compensateStep':
        run.undone.push(decision.step);
        events.push(ev.stepCompensated(decision.step));
        break;
      case 'completeSaga':
        events.push({ type: 'SagaCompleted', data: {} });
        break;
      case 'finishCompensation':
        events.push({ type: 'SagaCompensated', data: {} });
        break;
      case 'finished':
        return run;
      default:
        throw new Error(`unexpected decision ${decision.type}`);
    }
  }
  throw new Error('the saga did not end');
}

function completionOrder(events: readonly SagaEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'StepCompleted' ? [event.data.step] : []));
}

const scenario = shapeArbitrary.chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    failing: fc.option(fc.integer({ min: 0, max: shape.deps.length - 1 }), { nil: undefined }),
    seed: fc.integer(),
  }),
);

function faultsOf(failing: number | undefined, seed: number): Faults {
  const random = fc.sample(fc.integer(), { numRuns: 1, seed })[0] ?? 0;
  return {
    failing: failing === undefined ? undefined : `s${failing}`,
    shuffle: (names) =>
      [...names].sort(
        (a, b) => ((a.charCodeAt(1) * 31 + random) % 7) - ((b.charCodeAt(1) * 31 + random) % 7),
      ),
  };
}

describe('sagas, for random step graphs and failure points', () => {
  it('BC-13: rollback undoes exactly the completed steps with an undo, newest first', () => {
    fc.assert(
      fc.property(scenario, ({ shape, failing, seed }) => {
        const definition = defineShape(shape);
        const run = simulate(definition, faultsOf(failing, seed));
        const final = fold(run.events);
        if (failing === undefined) {
          expect(final.status).toBe('completed');
          expect(run.undone).toEqual([]);
          return;
        }
        expect(final.status).toBe('compensated');
        const expected = completionOrder(run.events)
          .filter((step) => shape.undoable[Number(step.slice(1))])
          .reverse();
        expect(run.undone).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('decides the same from any prefix of the history as the run did at that point', () => {
    fc.assert(
      fc.property(scenario, ({ shape, failing, seed }) => {
        const definition = defineShape(shape);
        const run = simulate(definition, faultsOf(failing, seed));
        for (const { after, decision } of run.decisions) {
          expect(decide(definition, fold(run.events.slice(0, after)), NOW)).toEqual(decision);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('BC-13: a crash in the middle of the rollback resumes in the same order, repeating no undo', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ shape, failing, seed }, cut) => {
        fc.pre(failing !== undefined);
        const definition = defineShape(shape);
        const faults = faultsOf(failing, seed);
        const run = simulate(definition, faults);
        const rollbackStart = run.events.findIndex((event) => event.type === 'CompensationStarted');
        const end = run.events.length - 1;
        const crashAt = rollbackStart + 1 + (cut % Math.max(1, end - rollbackStart));
        const prefix = run.events.slice(0, crashAt);
        const undoneBefore = prefix.flatMap((e) =>
          e.type === 'StepCompensated' ? [e.data.step] : [],
        );
        const resumed = simulate(definition, faults, [...prefix]);
        expect([...undoneBefore, ...resumed.undone]).toEqual(run.undone);
        expect(fold(resumed.events).status).toBe('compensated');
      }),
      { numRuns: 200 },
    );
  });
});

describe('BC-09: retries', () => {
  it('makes min(k, m) + 1 attempts for k transient failures and m retries, numbered 1..n', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 5 }),
        fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (k, m, initialDelayMs, random) => {
          const retry = {
            maxAttempts: m + 1,
            jitter: 0.2,
            maxDelayMs: 10_000,
            ...(initialDelayMs ? { initialDelayMs } : {}),
          };
          const definition = defineSaga({
            name: 'test',
            version: 1,
            input: t.type({}),
            steps: (step) => [step('call', { retry, run: async () => ({}) })],
          });
          const events: SagaEvent[] = [ev.started('s1')];
          let now = NOW;
          let failures = 0;
          const delays: number[] = [];
          for (let guard = 0; guard < 50; guard++) {
            const decision = decide(definition, fold(events), now);
            if (decision.type === 'wait' && decision.until) {
              now = new Date(decision.until);
              continue;
            }
            if (decision.type !== 'runSteps') break;
            const [run] = decision.runs;
            if (!run) break;
            events.push(ev.stepStarted('s1', run.step, run.attempt));
            if (failures < k) {
              failures += 1;
              const retryable = run.attempt < m + 1;
              events.push(ev.stepFailed(run.step, retryable, run.attempt));
              if (retryable) {
                const delay = computeRetryDelayMs(retry, run.attempt + 1, random);
                delays.push(delay);
                events.push(
                  ev.retryScheduled(
                    run.step,
                    run.attempt + 1,
                    new Date(now.getTime() + delay).toISOString(),
                  ),
                );
              }
            } else {
              events.push(ev.stepCompleted(run.step, {}, run.attempt));
            }
          }
          const attempts = events.flatMap((e) =>
            e.type === 'StepStarted' ? [e.data.attempt] : [],
          );
          expect(attempts).toEqual(Array.from({ length: Math.min(k, m) + 1 }, (_, i) => i + 1));
          const final = decide(definition, fold(events), now);
          expect(final.type).toBe(k <= m ? 'completeSaga' : 'startCompensation');
          const base = initialDelayMs ?? 1000;
          delays.forEach((delay, i) => {
            const expectedBase = Math.min(10_000, base * 2 ** i);
            expect(delay).toBeGreaterThan(0);
            expect(delay).toBeGreaterThanOrEqual(Math.min(10_000, Math.round(expectedBase)) - 1);
            expect(delay).toBeLessThanOrEqual(Math.min(10_000, expectedBase * 1.2) + 1);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
