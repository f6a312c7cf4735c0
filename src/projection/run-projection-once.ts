import * as E from 'fp-ts/lib/Either.js';

import type { RecordedEvent } from '../core/events.js';
import type { EventStore, ReadFailure } from '../ports/event-store.js';
import type { SqlClient } from '../ports/sql.js';
import { insertJobs } from '../queue/insert-jobs.js';
import { advanceCheckpoint, lockCheckpoint, readCheckpoint } from './checkpoint.js';
import { type JobProjection, projectEvents } from './job-projection.js';

/** Default {@link RunProjectionOptions.batchSize}. */
export const DEFAULT_BATCH_SIZE = 100;

/** Options of {@link runProjectionOnce}. */
export interface RunProjectionOptions {
  readonly store: EventStore;
  /** The database of the queue and the checkpoints. */
  readonly sql: SqlClient;
  readonly projection: JobProjection;
  /** Events read per batch. Default: {@link DEFAULT_BATCH_SIZE}. */
  readonly batchSize?: number;
}

/** What one batch did. */
export interface ProjectionBatch {
  /** Events read and covered by the new checkpoint. */
  readonly processed: number;
  /** Jobs inserted. */
  readonly inserted: number;
  /** Jobs skipped because a job with their unique key exists (an event read again). */
  readonly duplicates: number;
  /** The checkpoint after the batch. */
  readonly position: bigint;
}

/**
 * Another projector advanced the checkpoint after this one read it; this batch wrote nothing.
 * Harmless: run again to go on from the new position.
 */
export interface CheckpointConflictFailure {
  readonly _tag: 'CheckpointConflictFailure';
  readonly projection: string;
  /** The position this projector read from. */
  readonly expected: bigint;
  /** The position it found when it came to write. */
  readonly actual: bigint;
}

/** Why a batch wrote nothing. */
export type ProjectionFailure = ReadFailure | CheckpointConflictFailure;

function lastPosition(events: readonly RecordedEvent[], after: bigint): bigint {
  let position = after;
  for (const event of events) {
    // The port promises strictly increasing positions; a store that breaks that would make the
    // checkpoint go backwards or skip, so refuse the batch.
    if (event.position <= position) {
      throw new Error(`readAll returned position ${event.position} after ${position}`);
    }
    position = event.position;
  }
  return position;
}

/**
 * Runs one batch of a projection: reads up to `batchSize` events after its checkpoint and, in
 * one transaction, inserts their jobs and moves the checkpoint to the last of them. An event
 * that needs no job still moves the checkpoint.
 *
 * Two projectors of the same projection cannot both advance from one checkpoint: the
 * transaction locks the checkpoint row and writes only if it is still where the events were
 * read from; otherwise it writes nothing and returns `CheckpointConflictFailure`. Events are
 * read before the transaction opens, because on PGlite (one connection) a read by the store
 * during an open transaction would wait for that transaction forever.
 *
 * Left `EventDecodeFailure` when an event does not decode: the checkpoint stays before it, so
 * the projection stops there until the event is repaired.
 */
export async function runProjectionOnce(
  options: RunProjectionOptions,
): Promise<E.Either<ProjectionFailure, ProjectionBatch>> {
  const { store, sql, projection } = options;
  const after = await readCheckpoint(sql, projection.name);

  const read = await store.readAll({ after, limit: options.batchSize ?? DEFAULT_BATCH_SIZE });
  if (E.isLeft(read)) return read;
  const events = read.right;
  if (events.length === 0) {
    return E.right({ processed: 0, inserted: 0, duplicates: 0, position: after });
  }
  const position = lastPosition(events, after);
  const jobs = projectEvents(projection, events);

  return sql.transaction(async (tx) => {
    const actual = await lockCheckpoint(tx, projection.name);
    if (actual !== after || !(await advanceCheckpoint(tx, projection.name, after, position))) {
      const conflict: CheckpointConflictFailure = {
        _tag: 'CheckpointConflictFailure',
        projection: projection.name,
        expected: after,
        actual,
      };
      return E.left(conflict);
    }
    const { inserted, duplicates } = await insertJobs(tx, jobs);
    return E.right({
      processed: events.length,
      inserted: inserted.length,
      duplicates: duplicates.length,
      position,
    });
  });
}
