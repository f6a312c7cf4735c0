import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type AnySagaDefinition, defineSaga } from '../../src/core/definition.js';
import type { SagaId } from '../../src/core/ids.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { SagaWorker } from '../../src/runtime/saga-worker.js';
import { TEST_ACTOR, TestEngine } from '../support/engine.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** An effects log shared by the steps of the sagas below: what ran, in order. */
function createEffects() {
  const log: string[] = [];
  const counts = new Map<string, number>();
  return {
    log,
    counts,
    record(entry: string, key: string) {
      log.push(entry);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
  };
}

const OrderInput = t.type({ orderId: t.string, failAt: t.union([t.string, t.null]) });

function orderSaga(
  effects: ReturnType<typeof createEffects>,
  thrown: () => unknown = () => new Error('declined'),
) {
  const act =
    (step: string) =>
    async ({ input }: { input: t.TypeOf<typeof OrderInput> }, ctx: { idempotencyKey: string }) => {
      if (input.failAt === step) throw thrown();
      effects.record(`${input.orderId}:${step}`, ctx.idempotencyKey);
      return { step, orderId: input.orderId };
    };
  const undo = (step: string) => async (output: { orderId: string }) => {
    effects.record(`${output.orderId}:undo-${step}`, `${output.orderId}:undo-${step}`);
  };
  return defineSaga({
    name: 'order',
    version: 1,
    input: OrderInput,
    steps: (step) => {
      const reserve = step('reserve', { run: act('reserve'), compensate: undo('reserve') });
      const charge = step('charge', {
        after: [reserve],
        run: act('charge'),
        compensate: undo('charge'),
      });
      const ship = step('ship', { after: [charge], run: act('ship'), compensate: undo('ship') });
      return [reserve, charge, ship];
    },
  });
}

async function eventTypes(engine: TestEngine, sagaId: SagaId): Promise<string[]> {
  const history = await engine.rewind.history(sagaId);
  if (E.isLeft(history)) throw new Error(history.left.message);
  return history.right.map((recorded) => {
    const { data } = recorded.event;
    return 'step' in data ? `${recorded.event.type}(${data.step})` : recorded.event.type;
  });
}

async function start(engine: TestEngine, definition: AnySagaDefinition, input: unknown) {
  const started = await engine.rewind.start(definition, input, { actor: TEST_ACTOR });
  if (E.isLeft(started)) throw new Error(started.left._tag);
  return started.right.sagaId;
}

describe('saga runtime', () => {
  it('runs every step once and completes the saga', async () => {
    const effects = createEffects();
    const saga = orderSaga(effects);
    const engine = new TestEngine(db, [saga]).run();
    try {
      const sagaId = await start(engine, saga, { orderId: 'o1', failAt: null });
      expect(await engine.waitForSagas([sagaId])).toEqual(['completed']);
      expect(effects.log).toEqual(['o1:reserve', 'o1:charge', 'o1:ship']);
      expect(await eventTypes(engine, sagaId)).toEqual([
        'SagaStarted',
        'StepStarted(reserve)',
        'StepCompleted(reserve)',
        'StepStarted(charge)',
        'StepCompleted(charge)',
        'StepStarted(ship)',
        'StepCompleted(ship)',
        'SagaCompleted',
      ]);
    } finally {
      await engine.stop();
    }
  });

  it('compensates the completed steps in reverse order when the last step is declined', async () => {
    const effects = createEffects();
    const saga = orderSaga(effects);
    const engine = new TestEngine(db, [saga]).run();
    try {
      const sagaId = await start(engine, saga, { orderId: 'o2', failAt: 'ship' });
      expect(await engine.waitForSagas([sagaId])).toEqual(['compensated']);
      expect(effects.log).toEqual(['o2:reserve', 'o2:charge', 'o2:undo-charge', 'o2:undo-reserve']);
      expect((await eventTypes(engine, sagaId)).slice(-5)).toEqual([
        'StepFailed(ship)',
        'CompensationStarted(ship)',
        'StepCompensated(charge)',
        'StepCompensated(reserve)',
        'SagaCompensated',
      ]);
    } finally {
      await engine.stop();
    }
  });

  // BC-11: whatever step 2 throws, its failure is kept and step 1 is undone exactly once.
  const oddThrows: [string, () => unknown][] = [
    ['a string', () => 'card declined'],
    ['an array', () => ['declined', 42]],
    ['undefined', () => undefined],
    ['an Error with a cause', () => new Error('declined', { cause: { code: 'E42' } })],
  ];
  for (const [what, thrown] of oddThrows) {
    it(`BC-11: records a step that throws ${what} and undoes step 1 once`, async () => {
      const effects = createEffects();
      const saga = orderSaga(effects, thrown);
      const engine = new TestEngine(db, [saga]).run();
      try {
        const sagaId = await start(engine, saga, { orderId: 'o3', failAt: 'charge' });
        expect(await engine.waitForSagas([sagaId])).toEqual(['compensated']);
        expect(effects.log).toEqual(['o3:reserve', 'o3:undo-reserve']);
        const history = await engine.rewind.history(sagaId);
        const failed = E.isRight(history)
          ? history.right.find((recorded) => recorded.event.type === 'StepFailed')
          : undefined;
        expect(failed?.event.data).toMatchObject({ step: 'charge', attempt: 1, retryable: false });
      } finally {
        await engine.stop();
      }
    });
  }

  it('refuses an input that does not decode, naming the field, and writes nothing', async () => {
    const saga = orderSaga(createEffects());
    const engine = new TestEngine(db, [saga]);
    const before = await engine.rewind.store.readAll({ limit: 10_000 });
    const started = await engine.rewind.start(
      saga,
      { orderId: 7, failAt: null },
      { actor: TEST_ACTOR },
    );
    expect(started).toEqual(
      E.left(
        expect.objectContaining({
          _tag: 'InputDecodeFailure',
          saga: 'order',
          path: 'input.orderId',
        }),
      ),
    );
    const after = await engine.rewind.store.readAll({ limit: 10_000 });
    expect(E.isRight(after) && E.isRight(before) && after.right.length).toBe(
      E.isRight(before) && before.right.length,
    );
  });

  it('BC-21: gives steps the same bigint, Date, Map and Set that the saga was started with', async () => {
    const seen: unknown[] = [];
    const saga = defineSaga({
      name: 'values',
      version: 1,
      input: t.unknown,
      steps: (step) => {
        const first = step('first', {
          run: async () => ({ at: new Date(5), big: 2n ** 63n - 1n }),
        });
        const second = step('second', {
          after: [first],
          run: async ({ input, results }) => {
            seen.push(input, results.get(first));
            return null;
          },
        });
        return [first, second];
      },
    });
    const engine = new TestEngine(db, [saga]).run();
    try {
      const input = {
        amount: 2n ** 63n - 1n,
        dueAt: new Date(0),
        tags: new Set(['a']),
        meta: new Map([[1, 'x']]),
        maybe: undefined,
        negZero: -0,
      };
      const sagaId = await start(engine, saga, input);
      expect(await engine.waitForSagas([sagaId])).toEqual(['completed']);
      expect(seen).toEqual([input, { at: new Date(5), big: 2n ** 63n - 1n }]);
      const [seenInput] = seen as [typeof input];
      expect(seenInput.amount + 1n).toBe(2n ** 63n);
      expect(seenInput.dueAt.getTime()).toBe(0);
      expect(seenInput.tags.has('a')).toBe(true);
      expect(Object.is(seenInput.negZero, -0)).toBe(true);
    } finally {
      await engine.stop();
    }
  });

  it('BC-21: refuses at start an input holding a value that cannot be stored', async () => {
    const saga = defineSaga({
      name: 'values',
      version: 1,
      input: t.unknown,
      steps: (step) => [step('only', { run: async () => null })],
    });
    const engine = new TestEngine(db, [saga]);
    class Money {
      cents = 1;
    }
    const started = await engine.rewind.start(saga, { price: new Money() }, { actor: TEST_ACTOR });
    expect(started).toEqual(
      E.left({
        _tag: 'UnsupportedValueFailure',
        path: 'input.price',
        reason: 'an instance of Money cannot be stored',
      }),
    );
  });

  it('BC-09: retries a failing step by its policy, numbering attempts from 1', async () => {
    let calls = 0;
    const saga = defineSaga({
      name: 'flaky',
      version: 1,
      input: t.type({}),
      steps: (step) => [
        step('call', {
          retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
          run: async () => {
            calls += 1;
            if (calls < 3) throw new Error('connection reset');
            return { calls };
          },
        }),
      ],
    });
    const engine = new TestEngine(db, [saga]).run();
    try {
      const sagaId = await start(engine, saga, {});
      expect(await engine.waitForSagas([sagaId])).toEqual(['completed']);
      const history = await engine.rewind.history(sagaId);
      if (E.isLeft(history)) throw new Error('unreadable');
      const attempts = history.right.flatMap((recorded) =>
        recorded.event.type === 'StepStarted' ? [recorded.event.data.attempt] : [],
      );
      expect(attempts).toEqual([1, 2, 3]);
      const delays = history.right.flatMap((recorded) =>
        recorded.event.type === 'StepRetryScheduled'
          ? [Date.parse(recorded.event.data.dueAt) - Date.parse(recorded.metadata.occurredAt)]
          : [],
      );
      expect(delays).toHaveLength(2);
      for (const delay of delays) expect(delay).toBeGreaterThan(0);
    } finally {
      await engine.stop();
    }
  });

  it('hands a saga whose version it lacks back, naming saga and version, for a worker that has it', async () => {
    const effects = createEffects();
    const v1 = orderSaga(effects);
    const starter = new TestEngine(db, [v1]);
    const sagaId = await start(starter, v1, { orderId: 'o9', failAt: null });

    const v2 = defineSaga({ ...v1, version: 2, steps: () => v1.steps });
    const newer = new TestEngine(db, [v2]).run(1, { unknownSagaDelayMs: 200 });
    try {
      const job = await waitForJob(sagaId, 'retryable');
      expect(job).toContain('saga order version 1 is not registered (registered: 2)');
      expect(await eventTypes(newer, sagaId)).toEqual(['SagaStarted']);
      expect(effects.log).toEqual([]);
    } finally {
      await newer.stop();
    }

    const older = new TestEngine(db, [v1]).run();
    try {
      expect(await older.waitForSagas([sagaId])).toEqual(['completed']);
    } finally {
      await older.stop();
    }
  });

  it('keeps claiming after claims fail, as when the database is briefly away', async () => {
    const effects = createEffects();
    const saga = orderSaga(effects);
    const engine = new TestEngine(db, [saga]).run();
    let failing = 3;
    const flaky: SqlClient = {
      driver: db.sql.driver,
      query: (text, params) => {
        if (text.includes('SKIP LOCKED') && failing-- > 0) {
          return Promise.reject(new Error('connection terminated unexpectedly'));
        }
        return db.sql.query(text, params);
      },
      exec: (script) => db.sql.exec(script),
      transaction: (work) => db.sql.transaction(work),
      listen: (channel, handler, options) => db.sql.listen(channel, handler, options),
      close: () => Promise.resolve(),
    };
    const { rewind } = engine;
    const worker = new SagaWorker({
      sql: flaky,
      store: rewind.store,
      registry: rewind.registry,
      pollMs: 20,
      notify: engine.notify,
    });
    await engine.stopWorkers(0);
    worker.start();
    try {
      const sagaId = await start(engine, saga, { orderId: 'o10', failAt: null });
      expect(await engine.waitForSagas([sagaId])).toEqual(['completed']);
      expect(failing).toBeLessThan(0);
    } finally {
      await worker.stop();
      await engine.stop();
    }
  });

  it('runs each step once per saga with several workers on one queue', async () => {
    const effects = createEffects();
    const saga = orderSaga(effects);
    const engine = new TestEngine(db, [saga]).run(3, { concurrency: 4 });
    try {
      const ids: SagaId[] = [];
      for (let i = 0; i < 30; i++)
        ids.push(
          await start(engine, saga, { orderId: `p${i}`, failAt: i % 5 === 0 ? 'ship' : null }),
        );
      const statuses = await engine.waitForSagas(ids);
      expect(statuses.filter((status) => status === 'completed')).toHaveLength(24);
      expect(statuses.filter((status) => status === 'compensated')).toHaveLength(6);
      expect([...effects.counts.values()].every((count) => count === 1)).toBe(true);
      expect(effects.log).toHaveLength(24 * 3 + 6 * 4);
    } finally {
      await engine.stop();
    }
  });
});

/** The errors of the saga's job once it is in `state`. */
async function waitForJob(sagaId: SagaId, state: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = await db.sql.query(
      `SELECT errors::text AS errors FROM rewind_jobs WHERE state = $2 AND args->>'sagaId' = $1`,
      [sagaId, state],
    );
    const errors = rows.rows[0]?.errors;
    if (typeof errors === 'string') return errors;
    if (Date.now() > deadline) throw new Error(`the job never became ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
