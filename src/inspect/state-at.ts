import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { readStreamRange } from '../adapters/postgres/postgres-event-store.js';
import { SELECT_LAST_REVISION } from '../adapters/postgres/sql/events.js';
import {
  INSERT_SNAPSHOTS,
  SELECT_SNAPSHOT_AT_OR_BELOW,
} from '../adapters/postgres/sql/snapshots.js';
import type { RecordedEvent } from '../core/events.js';
import { describeHistoryFailure, evolve, type HistoryFailure, replay } from '../core/evolve.js';
import { type SagaId, sagaStreamName } from '../core/ids.js';
import { initialSagaState, type SagaState } from '../core/state.js';
import type { ReadFailure } from '../ports/event-store.js';
import { describeEventDecodeFailure } from '../ports/event-store.js';
import type { SqlExecutor } from '../ports/sql.js';
import { encodeSagaState, SagaStateCodec } from './saga-state-codec.js';

/**
 * Time travel: a saga's state after any event of its stream, folded from the nearest snapshot
 * at or below it. Snapshots are written as a side effect of reading, one every
 * {@link SNAPSHOT_INTERVAL} events, so the first look at a long stream folds it whole and every
 * later look folds fewer than that many events. Snapshots are derived: a snapshot of an edited
 * stream keeps the state from before the edit until the snapshots are deleted
 * (`DELETE_SNAPSHOTS`), so check `rewind verify --integrity` before trusting either.
 */

/** Events folded between two snapshots. */
export const SNAPSHOT_INTERVAL = 1000;

/** Why a state could not be rebuilt. */
export type TimeTravelFailure =
  | ReadFailure
  | HistoryFailure
  | { readonly _tag: 'SagaNotFoundFailure'; readonly sagaId: SagaId }
  | {
      readonly _tag: 'RevisionOutOfRangeFailure';
      readonly sagaId: SagaId;
      readonly revision: bigint;
      readonly lastRevision: bigint;
    };

/** A rebuilt state and how it was rebuilt. */
export interface StateAt {
  readonly state: SagaState;
  /** The revision of the last event folded in. */
  readonly revision: bigint;
  /** The stream's last revision. */
  readonly lastRevision: bigint;
  /** The snapshot folded from, if any. */
  readonly snapshotRevision: bigint | null;
  /** How many events were folded on top of it. */
  readonly eventsFolded: number;
}

const LastRevisionRow = t.type({ revision: t.union([t.null, BigIntLike()]) });
const SnapshotRow = t.type({ revision: BigIntLike(), state: SagaStateCodec });

function BigIntLike() {
  return t.union([t.bigint, t.number, t.string]).pipe(
    new t.Type<bigint, bigint | number | string, bigint | number | string>(
      'Revision',
      (u): u is bigint => typeof u === 'bigint',
      (u, context) => {
        const text = String(u);
        return /^-?\d+$/.test(text) ? t.success(BigInt(text)) : t.failure(u, context);
      },
      (value) => value,
    ),
  );
}

async function readLastRevision(db: SqlExecutor, sagaId: SagaId): Promise<bigint | null> {
  const result = await db.query(SELECT_LAST_REVISION, [sagaStreamName(sagaId)]);
  const decoded = LastRevisionRow.decode(result.rows[0]);
  if (E.isLeft(decoded)) throw new Error('unexpected last-revision row');
  return decoded.right.revision;
}

async function readSnapshot(db: SqlExecutor, sagaId: SagaId, revision: bigint) {
  const result = await db.query(SELECT_SNAPSHOT_AT_OR_BELOW, [
    sagaStreamName(sagaId),
    String(revision),
  ]);
  if (result.rows[0] === undefined) return undefined;
  const decoded = SnapshotRow.decode(result.rows[0]);
  // A snapshot that no longer decodes (an older engine's) is ignored: it is only a cache.
  return E.isRight(decoded) ? decoded.right : undefined;
}

/** Folds `events` onto `from`, noting the state at every snapshot revision passed. */
function foldWithSnapshots(events: readonly RecordedEvent[], from: SagaState) {
  const snapshots: { revision: string; state: unknown }[] = [];
  let state = from;
  for (const recorded of events) {
    state = evolve(state, recorded);
    if ((recorded.revision + 1n) % BigInt(SNAPSHOT_INTERVAL) === 0n) {
      snapshots.push({ revision: recorded.revision.toString(), state: encodeSagaState(state) });
    }
  }
  return { state, snapshots };
}

function foldSafely(events: readonly RecordedEvent[], from: SagaState) {
  // `replay` turns an impossible history into a HistoryFailure; fold again with it only to
  // report, since a valid history (the usual case) folds once.
  try {
    return E.right(foldWithSnapshots(events, from));
  } catch (error) {
    const replayed = replay(events, from);
    if (E.isLeft(replayed)) return replayed;
    throw error;
  }
}

/**
 * The state of saga `sagaId` after its event at `revision` (default: its last event), folded
 * from the nearest snapshot. Writes the snapshots it passes on the way.
 */
export async function loadStateAt(
  db: SqlExecutor,
  sagaId: SagaId,
  revision?: bigint,
): Promise<E.Either<TimeTravelFailure, StateAt>> {
  const lastRevision = await readLastRevision(db, sagaId);
  if (lastRevision === null) return E.left({ _tag: 'SagaNotFoundFailure', sagaId });
  const target = revision ?? lastRevision;
  if (target < 0n || target > lastRevision) {
    return E.left({ _tag: 'RevisionOutOfRangeFailure', sagaId, revision: target, lastRevision });
  }

  const snapshot = await readSnapshot(db, sagaId, target);
  const from = snapshot === undefined ? 0n : snapshot.revision + 1n;
  const events = await readStreamRange(db, sagaStreamName(sagaId), from, target);
  if (E.isLeft(events)) return events;
  const folded = foldSafely(events.right, snapshot?.state ?? initialSagaState);
  if (E.isLeft(folded)) return folded;

  if (folded.right.snapshots.length > 0) {
    await db.query(INSERT_SNAPSHOTS, [
      sagaStreamName(sagaId),
      JSON.stringify(folded.right.snapshots),
    ]);
  }
  return E.right({
    state: folded.right.state,
    revision: target,
    lastRevision,
    snapshotRevision: snapshot?.revision ?? null,
    eventsFolded: events.right.length,
  });
}

/** A sentence for a time-travel failure. */
export function describeTimeTravelFailure(failure: TimeTravelFailure): string {
  switch (failure._tag) {
    case 'SagaNotFoundFailure':
      return `saga ${failure.sagaId} has no events`;
    case 'RevisionOutOfRangeFailure': {
      const range = `events 0 to ${failure.lastRevision}`;
      return `saga ${failure.sagaId} has ${range}, not ${failure.revision}`;
    }
    case 'EventDecodeFailure':
      return describeEventDecodeFailure(failure);
    case 'HistoryFailure':
      return describeHistoryFailure(failure);
  }
}
