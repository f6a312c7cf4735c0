import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type AnySagaDefinition, defineSaga } from '../../src/core/definition.js';
import type { RecordedEvent } from '../../src/core/events.js';
import { replay } from '../../src/core/evolve.js';
import { childSagaIdOf, type SagaId } from '../../src/core/ids.js';
import { systemClock } from '../../src/ports/clock.js';
import type { EventStore } from '../../src/ports/event-store.js';
import { uuidGenerator } from '../../src/ports/ids.js';
import { createSilentLogger } from '../../src/ports/logger.js';
import { compensateChildSaga } from '../../src/runtime/child-sagas.js';
import { advanceSaga } from '../../src/runtime/saga-runner.js';
import { currentStepContext } from '../../src/runtime/step-context.js';
import { appendCommand } from '../support/commands.js';
import { TEST_ACTOR, TestEngine } from '../support/engine.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

const silent = createSilentLogger();

let db: TestDatabase;
let engine: TestEngine | undefined;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});
afterAll(async () => {
  await db.drop();
});

function run(sagas: readonly AnySagaDefinition[]): TestEngine {
  engine = new TestEngine(db, sagas).run();
  return engine;
}

async function start(target: TestEngine, saga: AnySagaDefinition, input: unknown): Promise<SagaId> {
  const started = await target.rewind.start(saga, input, { actor: TEST_ACTOR });
  if (E.isLeft(started)) throw new Error(started.left._tag);
  return started.right.sagaId;
}

async function historyOf(target: TestEngine, sagaId: SagaId): Promise<readonly RecordedEvent[]> {
  const history = await target.rewind.history(sagaId);
  if (E.isLeft(history)) throw new Error(history.left.message);
  return history.right;
}

function describeEvents(events: readonly RecordedEvent[]): string[] {
  return events.map(({ event }) =>
    'step' in event.data ? `${event.type}(${event.data.step})` : event.type,
  );
}

/** Resolves when `predicate` holds for the saga's history (checked after each notification). */
async function waitForHistory(
  target: TestEngine,
  sagaId: SagaId,
  predicate: (events: readonly RecordedEvent[]) => boolean,
): Promise<readonly RecordedEvent[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const events = await historyOf(target, sagaId);
    if (predicate(events)) return events;
    if (Date.now() > deadline)
      throw new Error(`history never matched: ${describeEvents(events).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const Empty = t.type({});
const noop = async () => ({});

describe('parallel steps', () => {
  it('runs independent steps at once, never more than maxConcurrency', async () => {
    let running = 0;
    let peak = 0;
    const work = async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running -= 1;
      return {};
    };
    const saga = defineSaga({
      name: 'fan-out',
      version: 1,
      input: Empty,
      maxConcurrency: 2,
      steps: (step) => ['a', 'b', 'c', 'd', 'e'].map((name) => step(name, { run: work })),
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    expect(await target.waitForSagas([sagaId])).toEqual(['completed']);
    expect(peak).toBe(2);
  });

  it('BC-10: records the steps still in flight before a failure rolls the saga back', async () => {
    let slowDone = 0;
    const saga = defineSaga({
      name: 'fail-fast',
      version: 1,
      input: Empty,
      steps: (step) => [
        step('slow', {
          run: async () => {
            await new Promise((resolve) => setTimeout(resolve, 150));
            slowDone += 1;
            return { slow: true };
          },
          compensate: async () => {},
        }),
        step('broken', {
          run: async () => {
            throw new Error('broken');
          },
        }),
      ],
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    expect(await target.waitForSagas([sagaId])).toEqual(['compensated']);
    const events = describeEvents(await historyOf(target, sagaId));
    expect(events.indexOf('StepCompleted(slow)')).toBeLessThan(
      events.indexOf('CompensationStarted(broken)'),
    );
    expect(events).toContain('StepCompensated(slow)');
    expect(slowDone).toBe(1);
  });
});

describe('map', () => {
  it('runs one instance per element and undoes only the completed ones', async () => {
    const undone: number[] = [];
    const saga = defineSaga({
      name: 'map-items',
      version: 1,
      input: t.type({ items: t.array(t.number) }),
      steps: (step) => {
        const each = step.map('charge', {
          over: ({ input }) => input.items,
          concurrency: 1,
          run: async (item) => {
            if (item === 3) throw Object.assign(new Error('declined'), { retryable: false });
            return { item };
          },
          compensate: async (output) => {
            undone.push(output.item);
          },
        });
        return [each];
      },
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, { items: [1, 2, 3, 4] });
    expect(await target.waitForSagas([sagaId])).toEqual(['compensated']);
    const events = describeEvents(await historyOf(target, sagaId));
    expect(events).toContain('StepCompleted(charge[0])');
    expect(events).toContain('StepFailed(charge[2])');
    expect(events).not.toContain('StepStarted(charge[3])');
    expect(undone).toEqual([2, 1]);
  });

  it('takes the elements in batches: a batch starts when the one before has completed', async () => {
    const log: string[] = [];
    const saga = defineSaga({
      name: 'map-batches',
      version: 1,
      input: t.type({ items: t.array(t.number) }),
      steps: (step) => [
        step.map('ship', {
          over: ({ input }) => input.items,
          batchSize: 2,
          run: async (item) => {
            log.push(`start ${item}`);
            await new Promise((resolve) => setTimeout(resolve, item === 1 ? 60 : 5));
            log.push(`end ${item}`);
            return item;
          },
        }),
      ],
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, { items: [1, 2, 3, 4, 5] });
    expect(await target.waitForSagas([sagaId])).toEqual(['completed']);
    expect(log.indexOf('start 3')).toBeGreaterThan(log.indexOf('end 1'));
    expect(log.indexOf('start 5')).toBeGreaterThan(log.indexOf('end 4'));
    expect(log.indexOf('start 2')).toBeLessThan(log.indexOf('end 1'));
  });

  it('gives a dependent the outputs of every element, in order', async () => {
    let seen: unknown;
    const saga = defineSaga({
      name: 'map-sum',
      version: 1,
      input: t.type({ items: t.array(t.number) }),
      steps: (step) => {
        const double = step.map('double', {
          over: ({ input }) => input.items,
          run: async (item) => item * 2,
        });
        const sum = step('sum', {
          after: [double],
          run: async ({ results }) => {
            seen = results.get(double);
            return results.get(double).reduce((a, b) => a + b, 0);
          },
        });
        return [double, sum];
      },
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, { items: [5, 1, 7] });
    expect(await target.waitForSagas([sagaId])).toEqual(['completed']);
    expect(seen).toEqual([10, 2, 14]);
  });
});

describe('branches', () => {
  it('skips a step whose condition is false, and the steps after it, never undoing them', async () => {
    const undone: string[] = [];
    const saga = defineSaga({
      name: 'branching',
      version: 1,
      input: t.type({ express: t.boolean }),
      steps: (step) => {
        const pack = step('pack', { run: noop, compensate: async () => void undone.push('pack') });
        const courier = step('courier', {
          after: [pack],
          when: ({ input }) => input.express,
          run: noop,
          compensate: async () => void undone.push('courier'),
        });
        const track = step('track', { after: [courier], run: noop });
        const fail = step('fail', {
          after: [pack],
          run: async () => {
            throw Object.assign(new Error('no'), { retryable: false });
          },
        });
        return [pack, courier, track, fail];
      },
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, { express: false });
    expect(await target.waitForSagas([sagaId])).toEqual(['compensated']);
    const events = describeEvents(await historyOf(target, sagaId));
    expect(events).toContain('StepSkipped(courier)');
    expect(events).toContain('StepSkipped(track)');
    expect(events).not.toContain('StepStarted(courier)');
    expect(undone).toEqual(['pack']);
  });
});

describe('child sagas', () => {
  const child = defineSaga({
    name: 'child',
    version: 1,
    input: t.type({ amount: t.number }),
    steps: (step) => [
      step('book', {
        run: async ({ input }) => {
          const ctx = currentStepContext();
          return { amount: input.amount, actor: ctx?.actor.id, correlationId: ctx?.correlationId };
        },
        compensate: async () => {},
      }),
    ],
  });

  function parentSaga(failAfterChild: boolean) {
    return defineSaga({
      name: failAfterChild ? 'parent-failing' : 'parent',
      version: 1,
      input: t.type({ amount: t.number }),
      steps: (step) => {
        const booking = step.child('booking', {
          saga: child,
          input: ({ input }) => ({ amount: input.amount }),
        });
        const finish = step('finish', {
          after: [booking],
          run: async ({ results }) => {
            if (failAfterChild) throw Object.assign(new Error('after child'), { retryable: false });
            return results.get(booking);
          },
        });
        return [booking, finish];
      },
    });
  }

  it('runs the child in its own stream with the parent actor and correlation id', async () => {
    const parent = parentSaga(false);
    const target = run([parent, child]);
    const sagaId = await start(target, parent, { amount: 7 });
    expect(await target.waitForSagas([sagaId])).toEqual(['completed']);
    const childEvents = await historyOf(target, childSagaIdOf(sagaId, 'booking'));
    expect(childEvents[0]?.metadata.actor).toEqual(TEST_ACTOR);
    expect(childEvents[0]?.metadata.correlationId).toBe(sagaId);
    const parentEvents = await historyOf(target, sagaId);
    const finished = parentEvents.find(
      (e) => e.event.type === 'StepCompleted' && e.event.data.step === 'finish',
    );
    expect(finished?.event.data).toMatchObject({
      output: { book: { amount: 7, actor: TEST_ACTOR.id, correlationId: sagaId } },
    });
  });

  it('compensates the child when the parent rolls back', async () => {
    const parent = parentSaga(true);
    const target = run([parent, child]);
    const sagaId = await start(target, parent, { amount: 3 });
    expect(await target.waitForSagas([sagaId])).toEqual(['compensated']);
    const childEvents = describeEvents(await historyOf(target, childSagaIdOf(sagaId, 'booking')));
    expect(childEvents.slice(-4)).toEqual([
      'SagaUndoRequested',
      'CompensationStarted(null)',
      'StepCompensated(book)',
      'SagaCompensated',
    ]);
    expect(describeEvents(await historyOf(target, sagaId))).toContain('StepCompensated(booking)');
  });

  /** A child whose one step halts: it runs until an operator resumes or cancels it. */
  const waitingChild = defineSaga({
    name: 'waiting-child',
    version: 1,
    input: t.type({}),
    steps: (step) => [
      step('hold', {
        run: async (_args, ctx) => ctx.halt('waits for a person'),
        compensate: async () => {},
      }),
    ],
  });
  const waitingParent = defineSaga({
    name: 'waiting-parent',
    version: 1,
    input: t.type({}),
    steps: (step) => [step.child('hold', { saga: waitingChild, input: () => ({}) })],
  });

  it('cancels a child still running when the parent is cancelled, and ends once it is undone', async () => {
    const target = run([waitingParent, waitingChild]);
    const sagaId = await start(target, waitingParent, {});
    const childId = childSagaIdOf(sagaId, 'hold');
    await waitForHistory(target, childId, (events) =>
      describeEvents(events).includes('SagaHalted(hold)'),
    );
    await waitForHistory(target, sagaId, (events) =>
      describeEvents(events).includes('ChildSagaStarted(hold)'),
    );
    await appendCommand(target.rewind.store, sagaId, {
      type: 'SagaCancelRequested',
      data: { reason: 'customer left' },
    });
    expect(await target.waitForSagas([sagaId, childId])).toEqual(['compensated', 'compensated']);
    const parentEvents = await historyOf(target, sagaId);
    const abandoned = parentEvents.find((e) => e.event.type === 'StepFailed');
    expect(abandoned?.event.data).toMatchObject({
      step: 'hold',
      failure: { name: 'ChildSagaAbandonedFailure' },
    });
    expect(describeEvents(parentEvents).slice(-3)).toEqual([
      'CompensationStarted(null)',
      'StepCompensated(hold)',
      'SagaCompensated',
    ]);
    expect(describeEvents(await historyOf(target, childId))).toContain('SagaCancelRequested');
  });

  it('sends its cancel again when the child moved between the look and the send', async () => {
    engine = new TestEngine(db, [waitingParent, waitingChild]).run();
    const sagaId = await start(engine, waitingParent, {});
    const childId = childSagaIdOf(sagaId, 'hold');
    await waitForHistory(engine, childId, (events) =>
      describeEvents(events).includes('SagaHalted(hold)'),
    );
    await waitForHistory(engine, sagaId, (events) =>
      describeEvents(events).includes('ChildSagaStarted(hold)'),
    );
    await engine.stopWorkers(0);
    const { store } = engine.rewind;
    const parent = replay(await historyOf(engine, sagaId));
    if (E.isLeft(parent) || parent.right.status === 'initial') throw new Error('no parent');
    // The first look at the child misses its last event, as if the child wrote it just after.
    let stale = true;
    const lagging: EventStore = {
      ...store,
      appendToStream: (...args) => store.appendToStream(...args),
      readStream: async (stream, from) => {
        const read = await store.readStream(stream, from);
        if (!stale || E.isLeft(read)) return read;
        stale = false;
        return E.right(read.right.slice(0, -1));
      },
    };
    const deps = { store: lagging, clock: systemClock, ids: uuidGenerator };
    expect(await compensateChildSaga(deps, parent.right, 'hold', childId)).toEqual([]);
    expect(stale).toBe(false);
    expect(describeEvents(await historyOf(engine, childId))).toContain('SagaCancelRequested');
  });

  it('fails a child saga step whose input function throws, and rolls back', async () => {
    const undone: string[] = [];
    const saga = defineSaga({
      name: 'bad-child-input',
      version: 1,
      input: t.type({}),
      steps: (step) => {
        const first = step('first', {
          run: async () => ({}),
          compensate: async () => {
            undone.push('first');
          },
        });
        const kid = step.child('kid', {
          after: [first],
          saga: waitingChild,
          input: () => {
            throw new Error('no address on file');
          },
        });
        return [first, kid];
      },
    });
    const target = run([saga, waitingChild]);
    const sagaId = await start(target, saga, {});
    expect(await target.waitForSagas([sagaId])).toEqual(['compensated']);
    const failed = (await historyOf(target, sagaId)).find((e) => e.event.type === 'StepFailed');
    expect(failed?.event.data).toMatchObject({
      step: 'kid',
      failure: { name: 'ChildSagaInputFailure' },
    });
    expect(JSON.stringify(failed?.event.data)).toContain('no address on file');
    expect(undone).toEqual(['first']);
  });

  /**
   * The parent as a worker leaves it when it stops after recording a child step's start and
   * starting the child, before recording the child.
   */
  async function parentStoppedMidStart(target: TestEngine): Promise<SagaId> {
    const parent = await target.rewind.start(waitingParent, {}, { actor: TEST_ACTOR });
    if (E.isLeft(parent)) throw new Error(parent.left._tag);
    const { sagaId } = parent.right;
    const childId = childSagaIdOf(sagaId, 'hold');
    await appendCommand(
      target.rewind.store,
      sagaId,
      { type: 'StepStarted', data: { step: 'hold', attempt: 1, idempotencyKey: childId } },
      TEST_ACTOR,
    );
    const child = await target.rewind.start(
      waitingChild,
      {},
      { actor: TEST_ACTOR, sagaId: childId, parent: { sagaId, step: 'hold' } },
    );
    if (E.isLeft(child)) throw new Error(child.left._tag);
    return sagaId;
  }

  it('goes on with the same child after stopping between starting it and recording it', async () => {
    engine = new TestEngine(db, [waitingParent, waitingChild]);
    const sagaId = await parentStoppedMidStart(engine);
    engine.run();
    const childId = childSagaIdOf(sagaId, 'hold');
    const parentEvents = await waitForHistory(engine, sagaId, (events) =>
      describeEvents(events).includes('ChildSagaStarted(hold)'),
    );
    expect(describeEvents(parentEvents).filter((e) => e === 'StepStarted(hold)')).toHaveLength(1);
    const childEvents = await waitForHistory(engine, childId, (events) =>
      describeEvents(events).includes('SagaHalted(hold)'),
    );
    expect(describeEvents(childEvents).filter((e) => e === 'SagaStarted')).toHaveLength(1);
  });

  it('undoes a child it never recorded when it rolls back after stopping mid-start', async () => {
    engine = new TestEngine(db, [waitingParent, waitingChild]);
    const sagaId = await parentStoppedMidStart(engine);
    await appendCommand(engine.rewind.store, sagaId, {
      type: 'SagaCancelRequested',
      data: { reason: 'changed my mind' },
    });
    engine.run();
    const childId = childSagaIdOf(sagaId, 'hold');
    expect(await engine.waitForSagas([sagaId, childId])).toEqual(['compensated', 'compensated']);
    const parentEvents = await historyOf(engine, sagaId);
    expect(parentEvents.find((e) => e.event.type === 'StepFailed')?.event.data).toMatchObject({
      step: 'hold',
      failure: { name: 'StepInDoubtFailure' },
    });
    expect(describeEvents(parentEvents)).not.toContain('ChildSagaStarted(hold)');
  });
});

describe('halt and resume', () => {
  it('BC-10: halts, records the step in flight, and resumes with the payload without re-running it', async () => {
    let sideEffects = 0;
    let approval: unknown;
    const saga = defineSaga({
      name: 'approval',
      version: 1,
      input: Empty,
      steps: (step) => {
        const wait = step('approve', {
          run: async (_args, ctx): Promise<{ approvedBy: string }> => {
            await new Promise((resolve) => setTimeout(resolve, 20));
            return ctx.halt('needs a manager');
          },
        });
        const side = step('count', {
          run: async () => {
            await new Promise((resolve) => setTimeout(resolve, 200));
            sideEffects += 1;
            return {};
          },
          compensate: async () => {},
        });
        const ship = step('ship', {
          after: [wait, side],
          run: async ({ results }) => {
            approval = results.get(wait);
            return {};
          },
        });
        return [wait, side, ship];
      },
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    const halted = await waitForHistory(
      target,
      sagaId,
      (events) =>
        describeEvents(events).includes('StepCompleted(count)') &&
        describeEvents(events).includes('SagaHalted(approve)'),
    );
    expect(describeEvents(halted)).not.toContain('StepStarted(ship)');

    await appendCommand(target.rewind.store, sagaId, {
      type: 'SagaResumeRequested',
      data: { payload: { approvedBy: 'manager-2' } },
    });
    expect(await target.waitForSagas([sagaId])).toEqual(['completed']);
    expect(approval).toEqual({ approvedBy: 'manager-2' });
    expect(sideEffects).toBe(1);
  });
});

describe('cancel and undo', () => {
  /**
   * A saga whose first step has an operator cancel it just before the step returns, so the
   * cancel reaches the stream between the run's decision and its append. The run is advanced
   * directly, without the stream watch that would usually tell it of the cancel earlier.
   */
  function cancelledWhileRunning(name: string, withSecondStep: boolean) {
    const ran: string[] = [];
    let store: EventStore | undefined;
    const saga = defineSaga({
      name,
      version: 1,
      input: Empty,
      steps: (step) => {
        const first = step('first', {
          run: async (_args, ctx) => {
            ran.push('first');
            if (!store) throw new Error('no store');
            await appendCommand(store, ctx.sagaId, {
              type: 'SagaCancelRequested',
              data: { reason: 'operator says stop' },
            });
            return {};
          },
          compensate: async () => {
            ran.push('undo first');
          },
        });
        if (!withSecondStep) return [first];
        const second = step('second', {
          after: [first],
          run: async () => {
            ran.push('second');
            return {};
          },
        });
        return [first, second];
      },
    });
    return { saga, ran, useStore: (given: EventStore) => (store = given) };
  }

  /** Starts the saga and advances it once, alone; resolves with the outcome and the history. */
  async function runCancelledWhileRunning(name: string, withSecondStep: boolean) {
    const { saga, ran, useStore } = cancelledWhileRunning(name, withSecondStep);
    engine = new TestEngine(db, [saga]);
    const { store, registry } = engine.rewind;
    useStore(store);
    const sagaId = await start(engine, saga, {});
    const deps = { store, registry, clock: systemClock, ids: uuidGenerator, logger: silent };
    const outcome = await advanceSaga(deps, sagaId, new AbortController().signal);
    return { outcome, ran, events: describeEvents(await historyOf(engine, sagaId)) };
  }

  it('starts no step after a cancel that arrived while it decided to start one', async () => {
    const { outcome, ran, events } = await runCancelledWhileRunning('cancel-before-start', true);
    expect(outcome).toEqual(E.right({ _tag: 'SagaFinished', status: 'compensated' }));
    expect(ran).toEqual(['first', 'undo first']);
    expect(events).not.toContain('StepStarted(second)');
    expect(events.slice(1)).toEqual([
      'StepStarted(first)',
      'SagaCancelRequested',
      'StepCompleted(first)',
      'CompensationStarted(null)',
      'StepCompensated(first)',
      'SagaCompensated',
    ]);
  });

  it('does not complete a saga whose cancel arrived while it decided to complete it', async () => {
    const { outcome, ran, events } = await runCancelledWhileRunning('cancel-before-end', false);
    expect(outcome).toEqual(E.right({ _tag: 'SagaFinished', status: 'compensated' }));
    expect(ran).toEqual(['first', 'undo first']);
    expect(events).not.toContain('SagaCompleted');
  });

  it('compensates the completed steps of a halted saga when an operator cancels it', async () => {
    const undone: string[] = [];
    const saga = defineSaga({
      name: 'cancellable',
      version: 1,
      input: Empty,
      steps: (step) => {
        const reserve = step('reserve', {
          run: noop,
          compensate: async () => void undone.push('reserve'),
        });
        const wait = step('wait', {
          after: [reserve],
          run: async (_args, ctx): Promise<object> => ctx.halt('waiting'),
        });
        return [reserve, wait];
      },
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    await waitForHistory(target, sagaId, (events) =>
      describeEvents(events).includes('SagaHalted(wait)'),
    );
    await appendCommand(target.rewind.store, sagaId, {
      type: 'SagaCancelRequested',
      data: { reason: 'customer left' },
    });
    expect(await target.waitForSagas([sagaId])).toEqual(['compensated']);
    expect(undone).toEqual(['reserve']);
    const events = await historyOf(target, sagaId);
    const cancel = events.find((e) => e.event.type === 'SagaCancelRequested');
    expect(cancel?.metadata.actor.id).toBe('operator-1');
  });

  it('BC-12: a cancel aborts the step in flight and every undo still runs to its end', async () => {
    const ledger: string[] = [];
    let shipSignal: AbortSignal | undefined;
    const saga = defineSaga({
      name: 'cancel-in-flight',
      version: 1,
      input: Empty,
      steps: (step) => {
        const reserve = step('reserve', {
          run: noop,
          compensate: async (_output, ctx) => {
            await new Promise((resolve) => setTimeout(resolve, 30));
            ledger.push(`release(aborted=${ctx.signal.aborted})`);
          },
        });
        const charge = step('charge', {
          after: [reserve],
          run: noop,
          compensate: async () => void ledger.push('refund'),
        });
        const ship = step('ship', {
          after: [charge],
          run: (_args, ctx) =>
            new Promise((_resolve, reject) => {
              shipSignal = ctx.signal;
              ledger.push('ship started');
              ctx.signal.addEventListener('abort', () => reject(new Error('ship aborted')));
            }),
        });
        return [reserve, charge, ship];
      },
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    await waitForHistory(target, sagaId, (events) =>
      describeEvents(events).includes('StepStarted(ship)'),
    );
    await appendCommand(target.rewind.store, sagaId, {
      type: 'SagaCancelRequested',
      data: { reason: 'changed mind' },
    });
    expect(await target.waitForSagas([sagaId])).toEqual(['compensated']);
    expect(shipSignal?.aborted).toBe(true);
    expect(ledger).toEqual(['ship started', 'refund', 'release(aborted=false)']);
    const events = describeEvents(await historyOf(target, sagaId));
    expect(events.slice(-6)).toEqual([
      'SagaCancelRequested',
      'StepFailed(ship)',
      'CompensationStarted(null)',
      'StepCompensated(charge)',
      'StepCompensated(reserve)',
      'SagaCompensated',
    ]);
  });

  it('undoes a completed saga by command: every step compensated in reverse order', async () => {
    const undone: string[] = [];
    const saga = defineSaga({
      name: 'undoable',
      version: 1,
      input: Empty,
      steps: (step) => {
        const a = step('a', { run: noop, compensate: async () => void undone.push('a') });
        const b = step('b', {
          after: [a],
          run: noop,
          compensate: async () => void undone.push('b'),
        });
        return [a, b];
      },
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    expect(await target.waitForSagas([sagaId])).toEqual(['completed']);
    await appendCommand(target.rewind.store, sagaId, {
      type: 'SagaUndoRequested',
      data: { reason: 'refund all' },
    });
    const events = await waitForHistory(
      target,
      sagaId,
      (all) => all.at(-1)?.event.type === 'SagaCompensated',
    );
    expect(describeEvents(events).slice(-4)).toEqual([
      'CompensationStarted(null)',
      'StepCompensated(b)',
      'StepCompensated(a)',
      'SagaCompensated',
    ]);
    expect(undone).toEqual(['b', 'a']);
  });
});

describe('recover, timeouts and undo failures', () => {
  it('continues with the value a step recovers with', async () => {
    const saga = defineSaga({
      name: 'recovering',
      version: 1,
      input: Empty,
      steps: (step) => [
        step('quote', {
          run: async (): Promise<{ price: number }> => {
            throw new Error('pricing service down');
          },
          recover: async () => ({ price: 100 }),
        }),
      ],
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    expect(await target.waitForSagas([sagaId])).toEqual(['completed']);
    const events = await historyOf(target, sagaId);
    expect(events.find((e) => e.event.type === 'StepRecovered')?.event.data).toMatchObject({
      output: { price: 100 },
      failure: { message: 'pricing service down' },
    });
  });

  it('fails an attempt that outlives its timeout, firing its signal', async () => {
    let aborted = false;
    const saga = defineSaga({
      name: 'slowpoke',
      version: 1,
      input: Empty,
      steps: (step) => [
        step('hang', {
          timeoutMs: 50,
          run: (_args, ctx) =>
            new Promise((resolve) => {
              ctx.signal.addEventListener('abort', () => {
                aborted = true;
              });
              setTimeout(() => resolve({}), 2000);
            }),
        }),
      ],
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    expect(await target.waitForSagas([sagaId])).toEqual(['compensated']);
    const failed = (await historyOf(target, sagaId)).find((e) => e.event.type === 'StepFailed');
    expect(failed?.event.data).toMatchObject({ failure: { name: 'StepTimeoutFailure' } });
    expect(aborted).toBe(true);
  });

  it('BC-11: retries a failing undo by its policy, then ends SagaFailed keeping both errors', async () => {
    const hooks: string[] = [];
    let undoTries = 0;
    const saga = defineSaga({
      name: 'stuck',
      version: 1,
      input: Empty,
      steps: (step) => {
        const a = step('a', {
          run: noop,
          compensateRetry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
          compensate: async () => {
            undoTries += 1;
            throw new Error('refund api down');
          },
        });
        const b = step('b', {
          after: [a],
          run: async () => {
            throw 'card declined';
          },
        });
        return [a, b];
      },
    });
    engine = new TestEngine(db, [saga]);
    const target = engine;
    const notify = target.notify;
    target.run(1, {
      notify: (n) => {
        if (n.type === 'saga:step:failed' || n.type === 'saga:compensation:failed')
          hooks.push(`${n.type}:${n.step}`);
        notify(n);
      },
    });
    const sagaId = await start(target, saga, {});
    expect(await target.waitForSagas([sagaId])).toEqual(['failed']);
    expect(undoTries).toBe(2);
    expect(hooks).toEqual([
      'saga:step:failed:b',
      'saga:compensation:failed:a',
      'saga:compensation:failed:a',
    ]);
    const last = (await historyOf(target, sagaId)).at(-1);
    expect(last?.event.type).toBe('SagaFailed');
    expect(last?.event.data).toMatchObject({
      failure: { message: 'refund api down' },
      cause: { name: 'NonErrorThrown' },
    });
  });

  it('retries the failed undos of a stuck saga when an operator asks, then finishes the rollback', async () => {
    let refundApiUp = false;
    const undone: string[] = [];
    const saga = defineSaga({
      name: 'stuck-then-fixed',
      version: 1,
      input: Empty,
      steps: (step) => {
        const a = step('a', { run: noop, compensate: async () => void undone.push('a') });
        const b = step('b', {
          after: [a],
          run: noop,
          compensateRetry: { maxAttempts: 1 },
          compensate: async () => {
            if (!refundApiUp) throw new Error('refund api down');
            undone.push('b');
          },
        });
        const c = step('c', {
          after: [b],
          run: async () => {
            throw Object.assign(new Error('declined'), { retryable: false });
          },
        });
        return [a, b, c];
      },
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    expect(await target.waitForSagas([sagaId])).toEqual(['failed']);
    expect(undone).toEqual([]);

    refundApiUp = true;
    await appendCommand(target.rewind.store, sagaId, {
      type: 'SagaRetryRequested',
      data: { reason: 'api fixed' },
    });
    const events = await waitForHistory(
      target,
      sagaId,
      (all) => all.at(-1)?.event.type === 'SagaCompensated',
    );
    expect(undone).toEqual(['b', 'a']);
    expect(describeEvents(events).slice(-5)).toEqual([
      'SagaFailed',
      'SagaRetryRequested',
      'StepCompensated(b)',
      'StepCompensated(a)',
      'SagaCompensated',
    ]);
  });

  it('BC-12: undoes what a timed-out attempt did although it recorded no output', async () => {
    const ledger: string[] = [];
    const saga = defineSaga({
      name: 'uncertain',
      version: 1,
      input: Empty,
      steps: (step) => {
        const reserve = step('reserve', {
          run: noop,
          compensate: async () => void ledger.push('release'),
        });
        const charge = step('charge', {
          after: [reserve],
          timeoutMs: 30,
          run: async (_args, ctx) => {
            ledger.push(`charge:${ctx.idempotencyKey}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
            return {};
          },
          compensateAttempt: async (ctx) => void ledger.push(`refund:${ctx.stepIdempotencyKey}`),
        });
        return [reserve, charge];
      },
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    expect(await target.waitForSagas([sagaId])).toEqual(['compensated']);
    expect(ledger).toEqual([`charge:${sagaId}:charge`, `refund:${sagaId}:charge`, 'release']);
  });
});

describe('actor', () => {
  it('BC-22: gives every step the actor through ctx and AsyncLocalStorage after async hops', async () => {
    const seen: unknown[] = [];
    const saga = defineSaga({
      name: 'actor-hops',
      version: 1,
      input: Empty,
      steps: (step) => [
        step('hop', {
          run: async (_args, ctx) => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            const [first] = await Promise.all([
              Promise.resolve().then(() => currentStepContext()?.actor),
              new Promise((resolve) => setImmediate(resolve)),
            ]);
            seen.push(ctx.actor, first, currentStepContext()?.actor);
            return {};
          },
        }),
      ],
    });
    const target = run([saga]);
    const sagaId = await start(target, saga, {});
    expect(await target.waitForSagas([sagaId])).toEqual(['completed']);
    expect(seen).toEqual([TEST_ACTOR, TEST_ACTOR, TEST_ACTOR]);
    for (const recorded of await historyOf(target, sagaId))
      expect(recorded.metadata.actor).toEqual(TEST_ACTOR);
  });
});

describe('versions and shutdown', () => {
  it('resumes a saga with the version it was started with, while a newer one is registered', async () => {
    const ran: string[] = [];
    const build = (version: number) =>
      defineSaga({
        name: 'versioned',
        version,
        input: Empty,
        steps: (step) => {
          const first = step('first', {
            run: async (_args, ctx): Promise<object> => {
              ran.push(`v${version}:first`);
              return ctx.halt('wait');
            },
          });
          const second = step('second', {
            after: [first],
            run: async () => {
              ran.push(`v${version}:second`);
              return {};
            },
          });
          return version === 1 ? [first, second] : [first];
        },
      });
    const v1 = build(1);
    const v2 = build(2);
    const target = run([v1, v2]);
    const sagaId = await start(target, v1, {});
    await waitForHistory(target, sagaId, (events) =>
      describeEvents(events).includes('SagaHalted(first)'),
    );
    await appendCommand(target.rewind.store, sagaId, {
      type: 'SagaResumeRequested',
      data: { payload: {} },
    });
    expect(await target.waitForSagas([sagaId])).toEqual(['completed']);
    expect(ran).toEqual(['v1:first', 'v1:second']);
  });

  it('BC-25: at shutdown, hands a step that outlives the grace period back as interrupted', async () => {
    let attempts = 0;
    let releaseSecond: () => void = () => {};
    const saga = defineSaga({
      name: 'long-step',
      version: 1,
      input: Empty,
      steps: (step) => [
        step('long', {
          run: (_args, ctx) =>
            new Promise((resolve, reject) => {
              attempts += 1;
              if (ctx.attempt > 1) {
                releaseSecond = () => resolve({ attempt: ctx.attempt });
                releaseSecond();
                return;
              }
              ctx.signal.addEventListener('abort', () => reject(new Error('aborted')));
            }),
        }),
      ],
    });
    const first = new TestEngine(db, [saga]).run();
    const sagaId = await start(first, saga, {});
    await waitForHistory(first, sagaId, (events) =>
      describeEvents(events).includes('StepStarted(long)'),
    );
    const workerStop = first.stopWorkers(50);
    await workerStop;
    const events = describeEvents(await historyOf(first, sagaId));
    expect(events.at(-1)).toBe('StepInterrupted(long)');
    const job = await db.sql.query(
      `SELECT state FROM rewind_jobs WHERE args->>'sagaId' = $1 ORDER BY id DESC LIMIT 1`,
      [sagaId],
    );
    expect(job.rows[0]?.state).not.toBe('executing');
    await first.stop();

    const second = run([saga]);
    expect(await second.waitForSagas([sagaId])).toEqual(['completed']);
    expect(attempts).toBe(2);
    const attemptsRecorded = (await historyOf(second, sagaId)).flatMap((e) =>
      e.event.type === 'StepStarted' ? [e.event.data.attempt] : [],
    );
    expect(attemptsRecorded).toEqual([1, 2]);
  });
});
