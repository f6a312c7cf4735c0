import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPostgresEventStore } from '../../src/adapters/postgres/postgres-event-store.js';
import type { SagaEvent } from '../../src/core/events.js';
import { replay } from '../../src/core/evolve.js';
import type { SagaId, StreamName } from '../../src/core/ids.js';
import { diffValues } from '../../src/inspect/diff-values.js';
import { applyMergePatch } from '../../src/inspect/merge-patch.js';
import { encodeSagaState } from '../../src/inspect/saga-state-codec.js';
import { loadStateAt, SNAPSHOT_INTERVAL } from '../../src/inspect/state-at.js';
import { createNewEvent, createSagaStream } from '../support/new-events.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;
let sagaId: SagaId;
let streamName: StreamName;
const EVENTS = 2500;

/** A step retried again and again, with a Date in its failures' neighbour output. */
function eventAt(revision: number, id: SagaId): SagaEvent {
  if (revision === 0) {
    const input = { at: new Date('2026-01-01T00:00:00Z'), big: 12n };
    return {
      type: 'SagaStarted',
      data: { sagaId: id, saga: 's', version: 1, definitionHash: 'h', input },
    };
  }
  const attempt = Math.floor((revision - 1) / 3) + 1;
  switch ((revision - 1) % 3) {
    case 0:
      return { type: 'StepStarted', data: { step: 'poll', attempt, idempotencyKey: 'k' } };
    case 1: {
      const failure = { name: 'NotYet', message: String(attempt) };
      return { type: 'StepFailed', data: { step: 'poll', attempt, failure, retryable: true } };
    }
    default:
      return {
        type: 'StepRetryScheduled',
        data: { step: 'poll', attempt: attempt + 1, dueAt: 'x' },
      };
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  ({ sagaId, streamName } = createSagaStream());
  const store = createPostgresEventStore({ sql: db.sql });
  const events = Array.from({ length: EVENTS }, (_, i) => createNewEvent(eventAt(i, sagaId)));
  const appended = await store.appendToStream(streamName, events, 'no_stream');
  if (E.isLeft(appended)) throw new Error('append failed');
});
afterAll(async () => {
  await db.drop();
});

describe('loadStateAt', () => {
  it('folds from the nearest snapshot once snapshots exist, to the same state', async () => {
    const first = await loadStateAt(db.sql, sagaId, 2400n);
    if (E.isLeft(first)) throw new Error(first.left._tag);
    expect(first.right).toMatchObject({ snapshotRevision: null, eventsFolded: 2401 });

    const second = await loadStateAt(db.sql, sagaId, 2400n);
    if (E.isLeft(second)) throw new Error(second.left._tag);
    expect(second.right).toMatchObject({
      snapshotRevision: BigInt(2 * SNAPSHOT_INTERVAL - 1),
      eventsFolded: 401,
    });
    expect(second.right.state).toEqual(first.right.state);

    const events = await createPostgresEventStore({ sql: db.sql }).readStream(streamName);
    if (E.isLeft(events)) throw new Error('read failed');
    const folded = replay(events.right.slice(0, 2401));
    expect(E.isRight(folded) && folded.right).toEqual(second.right.state);
    // Saga values keep their types through the snapshot's JSON.
    const state = second.right.state;
    expect(state.status !== 'initial' && state.input).toEqual({
      at: new Date('2026-01-01T00:00:00Z'),
      big: 12n,
    });
  });

  it('refuses a revision past the end', async () => {
    const loaded = await loadStateAt(db.sql, sagaId, BigInt(EVENTS));
    expect(E.isLeft(loaded) && loaded.left._tag).toBe('RevisionOutOfRangeFailure');
  });
});

describe('diffValues and applyMergePatch', () => {
  it('names every changed leaf by its path', () => {
    const before = encodeSagaState({ status: 'initial' });
    expect(diffValues({ a: 1, b: { c: [1, 2] } }, { a: 2, b: { c: [1] }, d: true })).toEqual([
      { kind: 'changed', path: 'a', before: 1, after: 2 },
      { kind: 'removed', path: 'b.c[1]', before: 2 },
      { kind: 'added', path: 'd', after: true },
    ]);
    expect(diffValues(before, before)).toEqual([]);
  });

  it('merges a patch: objects key by key, null removes', () => {
    expect(applyMergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 }, f: [1] })).toEqual({
      a: 1,
      b: { d: 3, e: 4 },
      f: [1],
    });
  });
});
