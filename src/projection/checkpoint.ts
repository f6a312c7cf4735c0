import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { BigIntFromStored } from '../core/events.js';
import type { SqlExecutor, SqlResult } from '../ports/sql.js';
import {
  ADVANCE_CHECKPOINT,
  CREATE_CHECKPOINT,
  LOCK_CHECKPOINT,
  READ_CHECKPOINT,
  SET_CHECKPOINT,
} from './sql/checkpoints.js';

/**
 * The checkpoint of a projection that has read nothing: before the first event, as in
 * `EventStore.readAll`'s default `after`.
 */
export const INITIAL_POSITION = -1n;

const CheckpointRow = t.type({ position: BigIntFromStored }, 'CheckpointRow');

/** Thrown when a checkpoint row does not decode: the table does not match migration 003. */
export class CheckpointDecodeError extends Error {
  override readonly name = 'CheckpointDecodeError';

  constructor(
    readonly checkpoint: string,
    readonly path: string,
  ) {
    super(`checkpoint ${checkpoint}: ${path} does not decode`);
  }
}

function positionOf(name: string, result: SqlResult): bigint | undefined {
  const row = result.rows[0];
  if (!row) return undefined;
  const decoded = CheckpointRow.decode(row);
  if (E.isLeft(decoded)) throw new CheckpointDecodeError(name, 'position');
  return decoded.right.position;
}

/** The position of a checkpoint: the last event it covers, or {@link INITIAL_POSITION}. */
export async function readCheckpoint(executor: SqlExecutor, name: string): Promise<bigint> {
  return positionOf(name, await executor.query(READ_CHECKPOINT, [name])) ?? INITIAL_POSITION;
}

/**
 * Locks a checkpoint row until the end of the transaction `tx`, creating it at
 * {@link INITIAL_POSITION} if needed, and returns its position.
 */
export async function lockCheckpoint(tx: SqlExecutor, name: string): Promise<bigint> {
  await tx.query(CREATE_CHECKPOINT, [name, INITIAL_POSITION]);
  const position = positionOf(name, await tx.query(LOCK_CHECKPOINT, [name]));
  if (position === undefined) throw new Error(`checkpoint ${name} vanished while being locked`);
  return position;
}

/** Moves a checkpoint from `from` to `to`; false, changing nothing, if it is not at `from`. */
export async function advanceCheckpoint(
  tx: SqlExecutor,
  name: string,
  from: bigint,
  to: bigint,
): Promise<boolean> {
  const result = await tx.query(ADVANCE_CHECKPOINT, [name, from, to]);
  return result.rowCount === 1;
}

/**
 * Sets a checkpoint to `position` (default: {@link INITIAL_POSITION}, to replay everything). A
 * replay inserts no job twice: every projected job has a unique key.
 */
export async function resetCheckpoint(
  executor: SqlExecutor,
  name: string,
  position: bigint = INITIAL_POSITION,
): Promise<void> {
  await executor.query(SET_CHECKPOINT, [name, position]);
}
