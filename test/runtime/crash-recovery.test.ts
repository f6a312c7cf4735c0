import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type AnySagaDefinition, defineSaga } from '../../src/core/definition.js';
import type { RecordedEvent, SagaEvent } from '../../src/core/events.js';
import { type SagaId, sagaStreamName } from '../../src/core/ids.js';
import type { EventStore } from '../../src/ports/event-store.js';
import { Rewind } from '../../src/runtime/rewind.js';
import type { SagaRunnerDeps } from '../../src/runtime/saga-run-outcome.js';
import { advanceSaga } from '../../src/runtime/saga-runner.js';
import { verifyHistory } from '../../src/runtime/verify-history.js';
import { TEST_ACTOR } from '../support/engine.js';
import { expectRight } from '../support/jobs.js';
import { createNewEvent } from '../support/new-events.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** What the steps below did, by idempotency key, and every context they saw. */
function createEffects() {
  const counts = new Map<string, number>();
  const seen: { step: string; attempt: number; key: string }[] = [];
  return {
    counts,
    seen,
    record(step: string, attempt: number, key: string) {
      seen.push({ step, attempt, key });
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
  };
}

function chargeSaga(effects: ReturnType<typeof createEffects>, onInDoubt: 'retry' | 'fail') {
  return defineSaga({
    name: `charge-${onInDoubt}`,
    version: 1,
    input: t.type({}),
    steps: (step) => {
      const reserve = step('reserve', {
        run: async (_args, ctx) => effects.record('reserve', ctx.attempt, ctx.idempotencyKey),
        compensate: async (_output, ctx) => effects.record('undo-reserve', 1, ctx.idempotencyKey),
      });
      const charge = step('charge', {
        after: [reserve],
        onInDoubt,
        retry: { maxAttempts: 3, initialDelayMs: 1 },
        run: async (_args, ctx) => effects.record('charge', ctx.attempt, ctx.idempotencyKey),
        compensateAttempt: async (ctx) =>
          effects.record('undo-charge-attempt', 1, ctx.stepIdempotencyKey),
      });
      return [reserve, charge];
    },
  });
}

function depsOf(rewind: Rewind, store: EventStore = rewind.store): SagaRunnerDeps {
  return {
    store,
    registry: rewind.registry,
    clock: rewind.clock,
    ids: rewind.ids,
    logger: rewind.logger,
  };
}

async function startSaga(rewind: Rewind, saga: AnySagaDefinition): Promise<SagaId> {
  const started = await rewind.start(saga, {}, { actor: TEST_ACTOR });
  if (E.isLeft(started)) throw new Error(started.left._tag);
  return started.right.sagaId;
}

async function historyOf(rewind: Rewind, sagaId: SagaId): Promise<readonly RecordedEvent[]> {
  return expectRight(await rewind.history(sagaId));
}

function describeEvents(events: readonly RecordedEvent[]): string[] {
  return events.map(({ event }) => {
    const { data } = event;
    if (!('step' in data)) return event.type;
    return 'attempt' in data
      ? `${event.type}(${data.step}#${data.attempt})`
      : `${event.type}(${data.step})`;
  });
}

/** Appends events as a worker that died right after would have left them. */
async function appendAsDeadWorker(rewind: Rewind, sagaId: SagaId, events: SagaEvent[]) {
  const history = await historyOf(rewind, sagaId);
  const last = history.at(-1);
  if (!last) throw new Error('no history');
  expectRight(
    await rewind.store.appendToStream(
      sagaStreamName(sagaId),
      events.map(createNewEvent),
      last.revision,
    ),
  );
}

/** Runs reserve to completion and leaves charge started with no result: in doubt. */
async function leaveChargeInDoubt(rewind: Rewind, sagaId: SagaId): Promise<void> {
  await appendAsDeadWorker(rewind, sagaId, [
    {
      type: 'StepStarted',
      data: { step: 'reserve', attempt: 1, idempotencyKey: `${sagaId}:reserve` },
    },
    { type: 'StepCompleted', data: { step: 'reserve', attempt: 1, output: null } },
    {
      type: 'StepStarted',
      data: { step: 'charge', attempt: 1, idempotencyKey: `${sagaId}:charge` },
    },
  ]);
}

describe('in-doubt steps', () => {
  it('runs an in-doubt attempt again with the same idempotency key when its policy retries', async () => {
    const effects = createEffects();
    const saga = chargeSaga(effects, 'retry');
    const rewind = new Rewind({ sql: db.sql, sagas: [saga] });
    const sagaId = await startSaga(rewind, saga);
    await leaveChargeInDoubt(rewind, sagaId);

    const outcome = expectRight(
      await advanceSaga(depsOf(rewind), sagaId, new AbortController().signal),
    );

    expect(outcome).toEqual({ _tag: 'SagaFinished', status: 'completed' });
    expect(effects.seen).toEqual([{ step: 'charge', attempt: 2, key: `${sagaId}:charge` }]);
    const history = await historyOf(rewind, sagaId);
    expect(describeEvents(history).slice(-4)).toEqual([
      'StepStarted(charge#1)',
      'StepStarted(charge#2)',
      'StepCompleted(charge#2)',
      'SagaCompleted',
    ]);
    const keys = history.flatMap(({ event }) =>
      event.type === 'StepStarted' && event.data.step === 'charge'
        ? [event.data.idempotencyKey]
        : [],
    );
    expect(keys).toEqual([`${sagaId}:charge`, `${sagaId}:charge`]);
    expectRight(verifyHistory(rewind.registry, history));
  });

  it('fails an in-doubt attempt and rolls back, undoing it under its key, when its policy fails', async () => {
    const effects = createEffects();
    const saga = chargeSaga(effects, 'fail');
    const rewind = new Rewind({ sql: db.sql, sagas: [saga] });
    const sagaId = await startSaga(rewind, saga);
    await leaveChargeInDoubt(rewind, sagaId);

    const outcome = expectRight(
      await advanceSaga(depsOf(rewind), sagaId, new AbortController().signal),
    );

    expect(outcome).toEqual({ _tag: 'SagaFinished', status: 'compensated' });
    expect(effects.seen).toEqual([
      { step: 'undo-charge-attempt', attempt: 1, key: `${sagaId}:charge` },
      { step: 'undo-reserve', attempt: 1, key: `${sagaId}:reserve:compensate` },
    ]);
    const history = await historyOf(rewind, sagaId);
    expect(describeEvents(history).slice(-5)).toEqual([
      'StepFailed(charge#1)',
      'CompensationStarted(charge)',
      'StepCompensated(charge)',
      'StepCompensated(reserve)',
      'SagaCompensated',
    ]);
    const failed = history.find(({ event }) => event.type === 'StepFailed');
    expect(failed?.event.data).toMatchObject({ failure: { name: 'StepInDoubtFailure' } });
    expectRight(verifyHistory(rewind.registry, history));
  });
});

/**
 * The stores, each holding its first append until every one of them has one: the runs on them
 * all decided on the same state, as two workers that read the stream at once.
 */
function createRacingStores(stores: readonly EventStore[]): EventStore[] {
  let arrived = 0;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return stores.map((store): EventStore => {
    let first = true;
    return {
      appendToStream: async (streamName, events, expected) => {
        if (first) {
          first = false;
          arrived += 1;
          if (arrived === stores.length) release();
          await gate;
        }
        return store.appendToStream(streamName, events, expected);
      },
      readStream: (streamName, from) => store.readStream(streamName, from),
      readAll: (options) => store.readAll(options),
      close: () => store.close(),
    };
  });
}

async function secondStore(): Promise<EventStore> {
  if (!process.env.DATABASE_URL) return new Rewind({ sql: db.sql, sagas: [] }).store;
  return new Rewind({ sql: await db.connect(), sagas: [] }).store;
}

describe('two workers on one saga (BC-15)', () => {
  it('lets one of two runs that decided together write; the other stops and writes nothing', async () => {
    const effects = createEffects();
    const saga = chargeSaga(effects, 'retry');
    const rewind = new Rewind({ sql: db.sql, sagas: [saga] });
    const other = await secondStore();
    const pairs = 200;
    const conflicts: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const sagaId = await startSaga(rewind, saga);
      const runs = await Promise.all(
        createRacingStores([rewind.store, other]).map((store) =>
          advanceSaga(depsOf(rewind, store), sagaId, new AbortController().signal),
        ),
      );
      const outcomes = runs.map((run) => expectRight(run)._tag).sort();
      expect(outcomes).toEqual(['SagaConflict', 'SagaFinished']);
      conflicts.push(outcomes.filter((tag) => tag === 'SagaConflict').length);
      const history = await historyOf(rewind, sagaId);
      expect(describeEvents(history)).toEqual([
        'SagaStarted',
        'StepStarted(reserve#1)',
        'StepCompleted(reserve#1)',
        'StepStarted(charge#1)',
        'StepCompleted(charge#1)',
        'SagaCompleted',
      ]);
    }
    expect(conflicts).toHaveLength(pairs);
    expect([...effects.counts.values()].every((count) => count === 1)).toBe(true);
    expect(effects.counts.size).toBe(pairs * 2);
  });

  it('stops the first worker without writing when a second took over its expired lease', async () => {
    const effects = createEffects();
    let releaseFirst: () => void = () => {};
    const firstHeld = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstEntered: () => void = () => {};
    const entered = new Promise<void>((resolve) => {
      firstEntered = resolve;
    });
    const saga = defineSaga({
      name: 'slow-charge',
      version: 1,
      input: t.type({}),
      steps: (step) => [
        step('charge', {
          // The second worker sees attempt 1 in doubt; a second attempt is allowed.
          retry: { maxAttempts: 2 },
          run: async (_args, ctx) => {
            effects.record('charge', ctx.attempt, ctx.idempotencyKey);
            if (ctx.attempt === 1) {
              firstEntered();
              await firstHeld;
            }
            return { attempt: ctx.attempt };
          },
        }),
      ],
    });
    const rewind = new Rewind({ sql: db.sql, sagas: [saga] });
    const sagaId = await startSaga(rewind, saga);

    const first = advanceSaga(depsOf(rewind), sagaId, new AbortController().signal);
    await entered;
    // The first worker still runs its attempt, but its lease ran out and a second one began.
    const second = expectRight(
      await advanceSaga(depsOf(rewind, await secondStore()), sagaId, new AbortController().signal),
    );
    releaseFirst();
    const late = expectRight(await first);

    expect(second).toEqual({ _tag: 'SagaFinished', status: 'completed' });
    expect(late).toEqual({ _tag: 'SagaConflict' });
    expect(describeEvents(await historyOf(rewind, sagaId))).toEqual([
      'SagaStarted',
      'StepStarted(charge#1)',
      'StepStarted(charge#2)',
      'StepCompleted(charge#2)',
      'SagaCompleted',
    ]);
    expect(effects.counts.get(`${sagaId}:charge`)).toBe(2);
  });
});

describe('an append whose response is lost (BC-14)', () => {
  it('writes StepCompleted once: the writer retries with the same ids and goes on', async () => {
    const effects = createEffects();
    const saga = chargeSaga(effects, 'retry');
    const { store } = new Rewind({ sql: db.sql, sagas: [saga] });
    let dropped = 0;
    const lossy: EventStore = {
      appendToStream: async (streamName, events, expected) => {
        const appended = await store.appendToStream(streamName, events, expected);
        if (dropped === 0 && events.some(({ event }) => event.type === 'StepCompleted')) {
          dropped += 1;
          // The same append, retried with the same ids, is recognised as already stored.
          const retried = expectRight(await store.appendToStream(streamName, events, expected));
          expect(retried.alreadyAppended).toBe(true);
          throw new Error('connection terminated after commit');
        }
        return appended;
      },
      readStream: (streamName, from) => store.readStream(streamName, from),
      readAll: (options) => store.readAll(options),
      close: () => store.close(),
    };
    const rewind = new Rewind({ sql: db.sql, store: lossy, sagas: [saga] });
    const sagaId = await startSaga(rewind, saga);

    const outcome = expectRight(
      await advanceSaga(depsOf(rewind), sagaId, new AbortController().signal),
    );

    expect(dropped).toBe(1);
    expect(outcome).toEqual({ _tag: 'SagaFinished', status: 'completed' });
    const types = describeEvents(await historyOf(rewind, sagaId));
    expect(types.filter((type) => type === 'StepCompleted(reserve#1)')).toHaveLength(1);
    expect(effects.counts.get(`${sagaId}:reserve`)).toBe(1);
    expect(effects.counts.get(`${sagaId}:charge`)).toBe(1);
  });
});
