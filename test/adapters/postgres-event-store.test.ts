import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { createPostgresEventStore } from '../../src/adapters/postgres/postgres-event-store.js';
import {
  APPEND_LOCK_CLASS,
  EVENTS_APPENDED_CHANNEL,
  INSERT_EVENTS_AND_NOTIFY,
  LOCK_APPENDS,
} from '../../src/adapters/postgres/sql/events.js';
import type { NewEvent, RecordedEvent } from '../../src/core/events.js';
import { EventId, StreamName } from '../../src/core/ids.js';
import type { EventStore } from '../../src/ports/event-store.js';
import type { SqlClient, SqlExecutor } from '../../src/ports/sql.js';
import { createTestDatabase, type TestDatabase, testBackend } from '../support/sql.js';
import { describeEventStoreContract } from './event-store.contract.js';

const onPostgres = testBackend === 'postgres';

describeEventStoreContract(`postgres event store on ${testBackend}`, async () => {
  const db = await createTestDatabase();
  return {
    store: createPostgresEventStore({ sql: db.sql }),
    ...(onPostgres
      ? { openStore: async () => createPostgresEventStore({ sql: await db.connect() }) }
      : {}),
    corruptEventData: async (streamName, revision, path, json) => {
      await db.sql.query(
        `UPDATE rewind_events SET data = jsonb_set(data, $3::text[], $4::jsonb)
         WHERE stream_name = $1 AND revision = $2::bigint`,
        [streamName, String(revision), `{${path.join(',')}}`, JSON.stringify(json)],
      );
    },
    cleanup: db.drop,
  };
});

function newStreamName(): StreamName {
  const name = `saga-${randomUUID()}`;
  if (!StreamName.is(name)) throw new Error('not a stream name');
  return name;
}

function stepStarted(step: string): NewEvent {
  const eventId = randomUUID();
  if (!EventId.is(eventId)) throw new Error('not an event id');
  return {
    eventId,
    event: { type: 'StepStarted', data: { step, attempt: 1, idempotencyKey: step } },
    metadata: {
      actor: { id: 'user-1' },
      correlationId: 'correlation-1',
      causationId: null,
      occurredAt: '2026-01-01T00:00:00.000Z',
      engineVersion: 'test',
    },
  };
}

function expectRight<Left, Right>(result: E.Either<Left, Right>): Right {
  if (E.isLeft(result)) throw new Error('expected a Right, got a Left');
  return result.right;
}

function idsOf(events: readonly RecordedEvent[], streams: readonly StreamName[]) {
  return events.filter((event) => streams.includes(event.streamName)).map((event) => event.eventId);
}

function deferred() {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

interface Pauses {
  /** Runs in the append's transaction right before it takes the append lock. */
  readonly beforeLock?: (tx: SqlExecutor) => Promise<void>;
  /** Runs in the append's transaction right after its insert, before it commits. */
  readonly afterInsert?: () => Promise<void>;
}

/** The SQL port with an append's transaction paused at chosen points: a fault injected. */
function pauseAppends(sql: SqlClient, pauses: Pauses): SqlClient {
  return {
    ...sql,
    transaction: (work) =>
      sql.transaction((tx) =>
        work({
          exec: (script) => tx.exec(script),
          query: async (text, params) => {
            if (text === LOCK_APPENDS) await pauses.beforeLock?.(tx);
            const result = await tx.query(text, params);
            if (text === INSERT_EVENTS_AND_NOTIFY) await pauses.afterInsert?.();
            return result;
          },
        }),
      ),
  };
}

const WaitingRow = t.type({ waiting: t.number });

/** Resolves once some append waits for the append lock, or when `stopped` says so. */
async function waitForAppendLockWaiter(sql: SqlClient, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    const result = await sql.query(
      `SELECT count(*)::integer AS waiting FROM pg_locks
       WHERE locktype = 'advisory' AND NOT granted AND objsubid = 2
         AND classid = $1::oid AND objid = 'rewind_events'::regclass::oid`,
      [APPEND_LOCK_CLASS],
    );
    const row = WaitingRow.decode(result.rows[0]);
    if (E.isRight(row) && row.right.waiting > 0) return;
    await sleep(10);
  }
}

describe(`postgres event store on ${testBackend}`, () => {
  let db: TestDatabase;
  let store: EventStore;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = createPostgresEventStore({ sql: db.sql });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('refuses a batch that reuses a stored event id and writes none of it', async () => {
    const stored = stepStarted('a');
    const first = newStreamName();
    const second = newStreamName();
    expectRight(await store.appendToStream(first, [stored], 'no_stream'));

    const reuse = store.appendToStream(second, [stepStarted('b'), stored], 'no_stream');

    await expect(reuse).rejects.toMatchObject({ cause: { code: '23505' } });
    expect(expectRight(await store.readStream(second))).toStrictEqual([]);
    expect(expectRight(await store.readStream(first))).toHaveLength(1);
  });

  it('checks only the revision on an append of no events', async () => {
    const stream = newStreamName();

    const onNew = await store.appendToStream(stream, [], 'no_stream');
    const onWrong = await store.appendToStream(stream, [], 0n);

    expect(onNew).toStrictEqual(E.right({ nextExpectedRevision: -1n, alreadyAppended: false }));
    expect(onWrong).toStrictEqual(
      E.left({
        _tag: 'VersionConflictFailure',
        streamName: stream,
        expected: 0n,
        actual: 'no_stream',
      }),
    );
    expect(expectRight(await store.readStream(stream))).toStrictEqual([]);
  });

  it('notifies the events channel with the stream name when an append commits', async () => {
    const stream = newStreamName();
    const notified = deferred();
    const unlisten = await db.sql.listen(EVENTS_APPENDED_CHANNEL, (payload) => {
      if (payload === stream) notified.resolve();
    });

    try {
      expectRight(await store.appendToStream(stream, [stepStarted('a')], 'no_stream'));

      await notified.promise;
    } finally {
      await unlisten();
    }
  });

  it.skipIf(!onPostgres)(
    'turns a unique violation from an append that commits first into a version conflict',
    async () => {
      const stream = newStreamName();
      const checked = deferred();
      const release = deferred();
      const late = createPostgresEventStore({
        sql: pauseAppends(await db.connect(), {
          beforeLock: async () => {
            checked.resolve();
            await release.promise;
          },
        }),
      });
      const lateEvents = [stepStarted('late')];
      const earlyEvents = [stepStarted('early')];

      const lateAppend = late.appendToStream(stream, lateEvents, 'no_stream');
      await checked.promise;
      expectRight(await store.appendToStream(stream, earlyEvents, 'no_stream'));
      release.resolve();

      expect(await lateAppend).toStrictEqual(
        E.left({
          _tag: 'VersionConflictFailure',
          streamName: stream,
          expected: 'no_stream',
          actual: 0n,
        }),
      );
      const read = expectRight(await store.readStream(stream));
      expect(read.map((event) => event.eventId)).toStrictEqual([earlyEvents[0]?.eventId]);
    },
  );

  it.skipIf(!onPostgres)(
    'reports a retry that loses the race to its own first try as already appended (BC-14)',
    async () => {
      const stream = newStreamName();
      const checked = deferred();
      const release = deferred();
      const retry = createPostgresEventStore({
        sql: pauseAppends(await db.connect(), {
          beforeLock: async () => {
            checked.resolve();
            await release.promise;
          },
        }),
      });
      const events = [stepStarted('a'), stepStarted('b')];

      const retried = retry.appendToStream(stream, events, 'no_stream');
      await checked.promise;
      expectRight(await store.appendToStream(stream, events, 'no_stream'));
      release.resolve();

      expect(await retried).toStrictEqual(
        E.right({ nextExpectedRevision: 1n, alreadyAppended: true }),
      );
      expect(expectRight(await store.readStream(stream))).toHaveLength(2);
    },
  );

  it.skipIf(!onPostgres)(
    'holds back an event committed above a transaction still open, then returns both',
    async () => {
      const low = newStreamName();
      const high = newStreamName();
      const { rows } = await db.sql.query('SELECT current_schema() AS schema');
      const schema = t.type({ schema: t.string }).decode(rows[0]);
      if (E.isLeft(schema)) throw new Error('no current schema');
      const raw = new pg.Client({
        connectionString: process.env.DATABASE_URL,
        options: `-c search_path=${schema.right.schema}`,
      });
      await raw.connect();
      const lowEvent = stepStarted('low');
      const highEvent = stepStarted('high');

      try {
        await raw.query('BEGIN');
        await raw.query(
          `INSERT INTO rewind_events (stream_name, revision, event_id, type, data, metadata)
           VALUES ($1, 0, $2, $3, $4::jsonb, $5::jsonb)`,
          [
            low,
            lowEvent.eventId,
            lowEvent.event.type,
            JSON.stringify(lowEvent.event.data),
            JSON.stringify(lowEvent.metadata),
          ],
        );
        expectRight(await store.appendToStream(high, [highEvent], 'no_stream'));

        const whileOpen = expectRight(await store.readAll());
        const cursor = whileOpen.at(-1)?.position ?? -1n;
        await raw.query('COMMIT');

        expect(idsOf(whileOpen, [low, high])).toStrictEqual([]);
        await vi.waitFor(async () => {
          const resumed = expectRight(await store.readAll({ after: cursor }));
          expect(idsOf(resumed, [low, high])).toStrictEqual([lowEvent.eventId, highEvent.eventId]);
        });
      } finally {
        await raw.end();
      }
    },
  );

  it.skipIf(!onPostgres)(
    'never lets a lower position commit after a higher one, so a resuming reader skips nothing',
    async () => {
      const [streamA, streamB] = [newStreamName(), newStreamName()];
      const [eventA, eventB] = [stepStarted('a'), stepStarted('b')];
      const [bHasId, aInserted, releaseA, releaseB] = [
        deferred(),
        deferred(),
        deferred(),
        deferred(),
      ];
      // B takes its transaction id first and A its position first: the two orders disagree, as
      // they can when two inserts interleave.
      const storeB = createPostgresEventStore({
        sql: pauseAppends(await db.connect(), {
          beforeLock: async (tx) => {
            await tx.query('SELECT pg_current_xact_id()');
            bHasId.resolve();
            await releaseB.promise;
          },
        }),
      });
      const storeA = createPostgresEventStore({
        sql: pauseAppends(await db.connect(), {
          afterInsert: async () => {
            aInserted.resolve();
            await releaseA.promise;
          },
        }),
      });

      const appendB = storeB.appendToStream(streamB, [eventB], 'no_stream');
      await bHasId.promise;
      const appendA = storeA.appendToStream(streamA, [eventA], 'no_stream');
      await aInserted.promise;
      releaseB.resolve();
      let settled = false;
      const lockWaiter = waitForAppendLockWaiter(db.sql, () => settled);
      await Promise.race([appendB, lockWaiter]);
      settled = true;
      await lockWaiter;
      const seen = expectRight(await store.readAll());
      releaseA.resolve();
      expectRight(await appendA);
      expectRight(await appendB);

      const cursor = seen.at(-1)?.position ?? -1n;
      await vi.waitFor(async () => {
        const resumed = expectRight(await store.readAll({ after: cursor }));
        expect(idsOf([...seen, ...resumed], [streamA, streamB])).toStrictEqual([
          eventA.eventId,
          eventB.eventId,
        ]);
      });
    },
  );
});
