import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { defineSaga } from '../../src/core/definition.js';
import type { SagaId } from '../../src/core/ids.js';
import { createDeferred } from '../support/deferred.js';
import { TEST_ACTOR, TestEngine } from '../support/engine.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

/** A saga of one step whose `run` is given, started on a running engine. */
async function startOneStep(
  name: string,
  run: (signal: AbortSignal) => Promise<unknown>,
): Promise<{ engine: TestEngine; sagaId: SagaId }> {
  const saga = defineSaga({
    name,
    version: 1,
    input: t.type({}),
    steps: (step) => [step('slow', { run: async (_, ctx) => ({ done: await run(ctx.signal) }) })],
  });
  const engine = new TestEngine(db, [saga]).run();
  const started = await engine.rewind.start(saga, {}, { actor: TEST_ACTOR });
  if (E.isLeft(started)) throw new Error(started.left._tag);
  return { engine, sagaId: started.right.sagaId };
}

async function jobStates(sagaId: SagaId): Promise<string[]> {
  const { rows } = await db.sql.query(
    `SELECT state FROM rewind_jobs WHERE args->>'sagaId' = $1 ORDER BY id`,
    [sagaId],
  );
  return rows.map((row) => String(row.state));
}

async function eventTypes(engine: TestEngine, sagaId: SagaId): Promise<string[]> {
  const history = await engine.rewind.history(sagaId);
  if (E.isLeft(history)) throw new Error('no history');
  return history.right.map(({ event }) => event.type);
}

describe('saga worker shutdown', () => {
  it('returns from stop() only once a step that ignores its abort has ended, its end recorded (BC-25)', async () => {
    const started = createDeferred();
    let stepEnded = false;
    // The step notices nothing: it ends 1.5 s after the abort, later than a plain job's
    // hand-back (abortWaitMs), as a driver call blocked past its signal would.
    const { engine, sagaId } = await startOneStep('ignores-abort', async (signal) => {
      started.resolve();
      await new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => setTimeout(resolve, 1500), { once: true });
      });
      stepEnded = true;
      return 'late';
    });
    await started.promise;

    await engine.stopWorkers(50);
    const endedBeforeStop = stepEnded;
    const types = await eventTypes(engine, sagaId);
    const states = await jobStates(sagaId);
    await engine.stop();

    expect(endedBeforeStop).toBe(true);
    // Its result came in after all, before the run let go of the job: it is kept.
    expect(types).toEqual(['SagaStarted', 'StepStarted', 'StepCompleted']);
    expect(states).not.toContain('executing');
  });

  it('resolves a second, concurrent stop() only when the first is done (BC-25)', async () => {
    const started = createDeferred();
    const aborted = createDeferred();
    const { engine, sagaId } = await startOneStep('slow-cleanup', (signal) => {
      started.resolve();
      // Honours its signal, after a moment of cleaning up.
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          aborted.resolve();
          setTimeout(() => reject(new Error('aborted')), 400);
        });
      });
    });
    await started.promise;

    const first = engine.stopWorkers(50);
    await aborted.promise;
    await engine.stopWorkers(50);
    const states = await jobStates(sagaId);
    await first;
    await engine.stop();

    expect(states).not.toContain('executing');
  });
});
