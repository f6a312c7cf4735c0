import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createPostgresEventStore } from '../../src/adapters/postgres/postgres-event-store.js';
import type { Logger } from '../../src/core/logger.js';
import type { EventStore } from '../../src/ports/event-store.js';
import { readCheckpoint } from '../../src/projection/checkpoint.js';
import type { JobProjection } from '../../src/projection/job-projection.js';
import { startProjector } from '../../src/projection/start-projector.js';
import { sagaEvents } from '../support/history.js';
import { expectRight, readQueue } from '../support/jobs.js';
import { createNewEvent, createSagaStream } from '../support/new-events.js';
import { createTestDatabase, type TestDatabase, testBackend } from '../support/sql.js';

const QUEUE = 'sagas';

const projection: JobProjection = {
  name: 'test-feeder',
  project: ({ event }) =>
    event.type === 'SagaStarted'
      ? [{ queue: QUEUE, kind: 'saga', args: { sagaId: event.data.sagaId } }]
      : [],
};

/** A logger that keeps its messages, to wait on the projector's lifecycle. */
function createRecordingLogger(messages: string[]): Logger {
  const record = (fieldsOrMessage: unknown, message?: string) => {
    messages.push(typeof fieldsOrMessage === 'string' ? fieldsOrMessage : (message ?? ''));
  };
  const logger: Logger = {
    error: record,
    warn: record,
    info: record,
    debug: record,
    trace: record,
    child: () => logger,
  };
  return logger;
}

let db: TestDatabase;
let store: EventStore;

beforeEach(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ sql: db.sql });
});

afterEach(async () => {
  await db.drop();
});

async function appendStartedSaga(): Promise<void> {
  const { sagaId, streamName } = createSagaStream();
  const started = createNewEvent(sagaEvents.started(sagaId));
  expectRight(await store.appendToStream(streamName, [started], 'no_stream'));
}

describe('startProjector', () => {
  it('projects events appended before and while it runs, then stops on abort', async () => {
    await appendStartedSaga();
    const controller = new AbortController();
    const messages: string[] = [];
    const logger = createRecordingLogger(messages);
    const running = startProjector({
      store,
      sql: db.sql,
      projection,
      signal: controller.signal,
      pollMs: 20,
      logger,
    });

    await expect.poll(() => readQueue(db.sql, QUEUE).then((jobs) => jobs.length)).toBe(1);
    await appendStartedSaga();
    await appendStartedSaga();
    await expect.poll(() => readQueue(db.sql, QUEUE).then((jobs) => jobs.length)).toBe(3);

    controller.abort();
    await running;
    expect(messages).toContain('projector stopped');
    const last = expectRight(await store.readAll()).at(-1);
    expect(await readCheckpoint(db.sql, projection.name)).toBe(last?.position);
  });

  it('keeps running after a failed batch and recovers', async () => {
    let failuresLeft = 2;
    const flakyStore: EventStore = {
      ...store,
      readAll: async (options) => {
        if (failuresLeft-- > 0) throw new Error('connection lost');
        return store.readAll(options);
      },
    };
    await appendStartedSaga();
    const controller = new AbortController();
    const messages: string[] = [];
    const running = startProjector({
      store: flakyStore,
      sql: db.sql,
      projection,
      signal: controller.signal,
      pollMs: 10,
      logger: createRecordingLogger(messages),
    });

    await expect.poll(() => readQueue(db.sql, QUEUE).then((jobs) => jobs.length)).toBe(1);
    controller.abort();
    await running;
    expect(messages.filter((message) => message === 'projection batch failed')).toHaveLength(2);
  });

  // On a shared Postgres cluster the store may hold an appended event back for as long as another
  // session's older transaction is open; the projector then finds it at the next poll instead of
  // on the notification. Only PGlite, with one connection, makes the wake-up deterministic.
  it.runIf(testBackend === 'pglite')('wakes on an append instead of its next poll', async () => {
    const controller = new AbortController();
    const messages: string[] = [];
    const running = startProjector({
      store,
      sql: db.sql,
      projection,
      signal: controller.signal,
      pollMs: 600_000,
      logger: createRecordingLogger(messages),
    });
    await expect.poll(() => messages.includes('projector waiting')).toBe(true);

    await appendStartedSaga();
    await expect.poll(() => readQueue(db.sql, QUEUE).then((jobs) => jobs.length)).toBe(1);
    controller.abort();
    await running;
  });

  it('stops at once when aborted while waiting for events', async () => {
    const controller = new AbortController();
    const messages: string[] = [];
    const running = startProjector({
      store,
      sql: db.sql,
      projection,
      signal: controller.signal,
      pollMs: 60_000,
      logger: createRecordingLogger(messages),
    });
    await expect.poll(() => messages.includes('projector waiting')).toBe(true);

    const abortedAt = Date.now();
    controller.abort();
    await running;
    expect(Date.now() - abortedAt).toBeLessThan(5_000);
    expect(messages.at(-1)).toBe('projector stopped');
  });
});
