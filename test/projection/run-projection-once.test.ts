import * as E from 'fp-ts/lib/Either.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createPostgresEventStore } from '../../src/adapters/postgres/postgres-event-store.js';
import type { RecordedEvent } from '../../src/core/events.js';
import type { EventStore } from '../../src/ports/event-store.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { readCheckpoint, resetCheckpoint } from '../../src/projection/checkpoint.js';
import type { JobProjection } from '../../src/projection/job-projection.js';
import { runProjectionOnce } from '../../src/projection/run-projection-once.js';
import type { NewJob } from '../../src/queue/job.js';
import { sagaEvents } from '../support/history.js';
import { expectLeft, expectRight, readQueue } from '../support/jobs.js';
import { createNewEvent, createSagaStream } from '../support/new-events.js';
import { createTestDatabase, type TestDatabase, testBackend } from '../support/sql.js';

const QUEUE = 'sagas';

/** The example projection of these tests: a job per started saga, and one per retry. */
function createProjection(overrides: Partial<JobProjection> = {}): JobProjection {
  return {
    name: 'test-feeder',
    project({ event }: RecordedEvent): readonly NewJob[] {
      switch (event.type) {
        case 'SagaStarted':
          return [{ queue: QUEUE, kind: 'saga', args: { sagaId: event.data.sagaId } }];
        case 'StepRetryScheduled':
          return [
            { queue: QUEUE, kind: 'saga', args: {}, scheduledAt: new Date(event.data.dueAt) },
          ];
        default:
          return [];
      }
    },
    ...overrides,
  };
}

let db: TestDatabase;
let store: EventStore;

beforeEach(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ sql: db.sql });
});

afterEach(async () => {
  await store.close();
  await db.drop();
});

/** Appends a started saga with one started step. */
async function appendSaga(): Promise<void> {
  const { sagaId, streamName } = createSagaStream();
  const events = [sagaEvents.started(sagaId), sagaEvents.stepStarted(sagaId, 'reserve')];
  expectRight(await store.appendToStream(streamName, events.map(createNewEvent), 'no_stream'));
}

/**
 * Every event appended so far, once `readAll` returns them all: the store holds back events
 * while an older transaction anywhere in the cluster is still open (another test file's, say).
 */
async function readAllEvents(count: number): Promise<readonly RecordedEvent[]> {
  await expect.poll(async () => expectRight(await store.readAll()).length).toBe(count);
  return expectRight(await store.readAll());
}

function lastPositionOf(events: readonly RecordedEvent[]): bigint {
  const last = events.at(-1);
  if (!last) throw new Error('no events');
  return last.position;
}

describe('runProjectionOnce', () => {
  it('turns events into jobs and moves the checkpoint with them', async () => {
    await appendSaga();
    await appendSaga();
    const events = await readAllEvents(4);
    const projection = createProjection();

    const batch = expectRight(await runProjectionOnce({ store, sql: db.sql, projection }));

    expect(batch).toEqual({
      processed: 4,
      inserted: 2,
      duplicates: 0,
      position: lastPositionOf(events),
    });
    expect(await readCheckpoint(db.sql, projection.name)).toBe(lastPositionOf(events));
    const jobs = await readQueue(db.sql, QUEUE);
    const started = events.filter((recorded) => recorded.event.type === 'SagaStarted');
    expect(jobs.map((job) => job.uniqueKey)).toEqual(
      started.map((recorded) => `test-feeder:${recorded.eventId}:0`),
    );
  });

  it('leaves the checkpoint where it was when the jobs cannot be written', async () => {
    await appendSaga();
    await readAllEvents(2);
    // Postgres text cannot hold U+0000, so the insert fails after the checkpoint moved.
    const broken = createProjection({
      project: () => [{ queue: QUEUE, kind: 'nul\u0000kind', args: {} }],
    });

    await expect(runProjectionOnce({ store, sql: db.sql, projection: broken })).rejects.toThrow(
      /unsupported Unicode escape sequence/,
    );

    expect(await readCheckpoint(db.sql, broken.name)).toBe(-1n);
    expect(await readQueue(db.sql, QUEUE)).toEqual([]);
    const fixed = expectRight(
      await runProjectionOnce({ store, sql: db.sql, projection: createProjection() }),
    );
    expect(fixed.inserted).toBe(1);
  });

  it('inserts no second job when run again or replayed from the start', async () => {
    await appendSaga();
    await appendSaga();
    await readAllEvents(4);
    const projection = createProjection();
    const options = { store, sql: db.sql, projection };
    const first = expectRight(await runProjectionOnce(options));

    expect(expectRight(await runProjectionOnce(options))).toMatchObject({
      processed: 0,
      position: first.position,
    });
    await resetCheckpoint(db.sql, projection.name);
    const replay = expectRight(await runProjectionOnce(options));

    expect(replay).toEqual({ processed: 4, inserted: 0, duplicates: 2, position: first.position });
    expect(await readQueue(db.sql, QUEUE)).toHaveLength(2);
  });

  it('advances the checkpoint past events that need no job', async () => {
    const { sagaId, streamName } = createSagaStream();
    const steps = [sagaEvents.stepStarted(sagaId, 'a'), sagaEvents.stepCompleted('a')];
    expectRight(await store.appendToStream(streamName, steps.map(createNewEvent), 'no_stream'));
    const events = await readAllEvents(2);
    const projection = createProjection();

    const batch = expectRight(await runProjectionOnce({ store, sql: db.sql, projection }));

    expect(batch).toMatchObject({ processed: 2, inserted: 0 });
    expect(await readCheckpoint(db.sql, projection.name)).toBe(lastPositionOf(events));
  });

  it('reads at most batchSize events per run', async () => {
    await appendSaga();
    await appendSaga();
    const events = await readAllEvents(4);
    const options = { store, sql: db.sql, projection: createProjection(), batchSize: 3 };

    expect(expectRight(await runProjectionOnce(options))).toMatchObject({
      processed: 3,
      position: events[2]?.position,
    });
    expect(expectRight(await runProjectionOnce(options))).toMatchObject({
      processed: 1,
      position: events[3]?.position,
    });
  });

  it('schedules the job of a retry at its due time', async () => {
    const { streamName } = createSagaStream();
    const dueAt = new Date(Date.now() + 3_600_000);
    const retry = sagaEvents.retryScheduled('a', 2, dueAt.toISOString());
    expectRight(await store.appendToStream(streamName, [createNewEvent(retry)], 'no_stream'));
    await readAllEvents(1);

    expectRight(await runProjectionOnce({ store, sql: db.sql, projection: createProjection() }));

    const [job] = await readQueue(db.sql, QUEUE);
    expect(job).toMatchObject({ state: 'scheduled', scheduledAt: dueAt });
  });

  it('lets only one of two projectors advance from the same checkpoint', async () => {
    await appendSaga();
    await appendSaga();
    await readAllEvents(4);
    const projection = createProjection();
    let releaseSlowRead: () => void = () => {};
    const slowReadReleased = new Promise<void>((resolve) => {
      releaseSlowRead = resolve;
    });
    // The slow projector reads the first batch, then stalls while the fast one does all the work.
    const slowStore: EventStore = {
      ...store,
      readAll: async (options) => {
        const read = await store.readAll(options);
        await slowReadReleased;
        return read;
      },
    };

    const slow = runProjectionOnce({ store: slowStore, sql: db.sql, projection, batchSize: 2 });
    const fast = { store, sql: db.sql, projection, batchSize: 2 };
    expectRight(await runProjectionOnce(fast));
    const done = expectRight(await runProjectionOnce(fast));
    releaseSlowRead();

    expect(expectLeft(await slow)).toEqual({
      _tag: 'CheckpointConflictFailure',
      projection: projection.name,
      expected: -1n,
      actual: done.position,
    });
    expect(await readCheckpoint(db.sql, projection.name)).toBe(done.position);
    expect(await readQueue(db.sql, QUEUE)).toHaveLength(2);
  });

  it('makes one job per event when projectors race on separate connections', async () => {
    for (let i = 0; i < 15; i++) await appendSaga();
    const events = await readAllEvents(30);
    const projection = createProjection();
    const clients: SqlClient[] =
      testBackend === 'postgres' ? [db.sql, await db.connect(), await db.connect()] : [db.sql];

    const runUntilCaughtUp = async (sql: SqlClient): Promise<void> => {
      for (;;) {
        const batch = await runProjectionOnce({ store, sql, projection, batchSize: 4 });
        if (E.isRight(batch) && batch.right.processed === 0) return;
      }
    };
    await Promise.all([...clients, ...clients].map(runUntilCaughtUp));

    const jobs = await readQueue(db.sql, QUEUE);
    expect(jobs).toHaveLength(15);
    expect(new Set(jobs.map((job) => job.uniqueKey)).size).toBe(15);
    expect(await readCheckpoint(db.sql, projection.name)).toBe(lastPositionOf(events));
  });
});
