import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { describeDecodeErrors } from '../../core/decode-failure.js';
import {
  BigIntFromStored,
  EventMetadata,
  type NewEvent,
  type RecordedEvent,
  SagaEvent,
} from '../../core/events.js';
import { EventId, StreamName } from '../../core/ids.js';
import type {
  AppendFailure,
  AppendResult,
  EventDecodeFailure,
  EventStore,
  ExpectedRevision,
  ReadAllOptions,
  ReadFailure,
} from '../../ports/event-store.js';
import type { SqlClient, SqlExecutor, SqlRow } from '../../ports/sql.js';
import { GENESIS_HASH, hashEvent } from './event-hash.js';
import {
  EVENT_ID_CONSTRAINT,
  INSERT_EVENTS_AND_NOTIFY,
  LOCK_APPENDS,
  SELECT_ALL_EVENTS,
  SELECT_EVENT_IDS,
  SELECT_LAST_REVISION,
  SELECT_STREAM_EVENTS,
  SELECT_STREAM_HEAD,
  SELECT_STREAM_RANGE,
  STREAM_REVISION_CONSTRAINT,
} from './sql/events.js';

/** Options of {@link createPostgresEventStore}. */
export interface PostgresEventStoreOptions {
  /** The database, migrated; the store uses it but does not own it (close it yourself). */
  readonly sql: SqlClient;
}

const DEFAULT_READ_ALL_LIMIT = 1000;
const UNIQUE_VIOLATION = '23505';

/** The revision a stream that does not exist yet is at, for arithmetic. */
function revisionNumber(revision: ExpectedRevision): bigint {
  return revision === 'no_stream' ? -1n : revision;
}

const LastRevisionRow = t.type({ revision: t.union([t.null, BigIntFromStored]) });
const EventIdRow = t.type({ event_id: t.string });

/** Decodes a row whose shape the schema guarantees; a mismatch is a broken invariant. */
function decodeTrusted<Row>(codec: t.Decoder<unknown, Row>, row: SqlRow | undefined): Row {
  const decoded = codec.decode(row);
  if (E.isRight(decoded)) return decoded.right;
  const { path, message } = describeDecodeErrors(decoded.left);
  throw new Error(`unexpected rewind_events row at ${path}: ${message}`);
}

async function readLastRevision(db: SqlExecutor, streamName: StreamName) {
  const result = await db.query(SELECT_LAST_REVISION, [streamName]);
  const { revision } = decodeTrusted(LastRevisionRow, result.rows[0]);
  return revision ?? 'no_stream';
}

/** True when the batch is stored in the stream at the revisions right after `expected`. */
async function isAlreadyAppended(
  db: SqlExecutor,
  streamName: StreamName,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): Promise<boolean> {
  if (events.length === 0) return false;
  const first = revisionNumber(expected) + 1n;
  const last = first + BigInt(events.length) - 1n;
  const result = await db.query(SELECT_EVENT_IDS, [streamName, String(first), String(last)]);
  const storedIds = result.rows.map((row) => decodeTrusted(EventIdRow, row).event_id);
  return (
    storedIds.length === events.length &&
    events.every((event, index) => event.eventId === storedIds[index])
  );
}

/** The stream is not at `expected`: a retry of a committed append (BC-14), or a conflict. */
async function resolveMismatch(
  db: SqlExecutor,
  streamName: StreamName,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
  actual: ExpectedRevision,
): Promise<E.Either<AppendFailure, AppendResult>> {
  if (await isAlreadyAppended(db, streamName, events, expected)) {
    const nextExpectedRevision = revisionNumber(expected) + BigInt(events.length);
    return E.right({ nextExpectedRevision, alreadyAppended: true });
  }
  return E.left({ _tag: 'VersionConflictFailure', streamName, expected, actual });
}

/** A value as jsonb gives it back: plain JSON, without undefined fields. The hash covers this. */
function asStoredJson(value: unknown): unknown {
  const parsed: unknown = JSON.parse(JSON.stringify(value));
  return parsed;
}

/** The batch as the INSERT takes it, each event chained to the hash of the one before. */
function encodeBatch(
  streamName: StreamName,
  first: bigint,
  events: readonly NewEvent[],
  previousHash: string,
): string {
  let prevHash = previousHash;
  const rows = events.map(({ eventId, event, metadata }, index) => {
    const { type, data: encodedData } = SagaEvent.encode(event);
    const data = asStoredJson(encodedData);
    const storedMetadata = asStoredJson(EventMetadata.encode(metadata));
    const revision = first + BigInt(index);
    const fields = { streamName, revision, eventId, type, data, metadata: storedMetadata };
    const hash = hashEvent(prevHash, fields);
    const row = { eventId, type, data, metadata: storedMetadata, prevHash, hash };
    prevHash = hash;
    return row;
  });
  return JSON.stringify(rows);
}

const StreamHeadRow = t.type({ revision: BigIntFromStored, hash: t.union([t.null, t.string]) });

/** The stream's last revision and the hash a batch appended after it chains to. */
async function readStreamHead(db: SqlExecutor, streamName: StreamName) {
  const result = await db.query(SELECT_STREAM_HEAD, [streamName]);
  const row = result.rows[0];
  if (row === undefined) return { revision: 'no_stream' as const, hash: GENESIS_HASH };
  const head = decodeTrusted(StreamHeadRow, row);
  // An event written before hashes were kept (migration 005) starts a new chain.
  return { revision: head.revision, hash: head.hash ?? GENESIS_HASH };
}

async function appendInTransaction(
  tx: SqlExecutor,
  streamName: StreamName,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): Promise<E.Either<AppendFailure, AppendResult>> {
  const head = await readStreamHead(tx, streamName);
  if (head.revision !== expected) {
    return resolveMismatch(tx, streamName, events, expected, head.revision);
  }

  const first = revisionNumber(expected) + 1n;
  const nextExpectedRevision = first + BigInt(events.length) - 1n;
  if (events.length === 0) return E.right({ nextExpectedRevision, alreadyAppended: false });

  // Nothing in this transaction may write before the lock: its transaction id must be drawn
  // under the lock, in position order (see LOCK_APPENDS). The lock is held until commit, so
  // what runs after it is kept to one statement.
  const batch = encodeBatch(streamName, first, events, head.hash);
  await tx.query(LOCK_APPENDS);
  await tx.query(INSERT_EVENTS_AND_NOTIFY, [streamName, String(first), batch]);
  return E.right({ nextExpectedRevision, alreadyAppended: false });
}

/** A string field of a driver error (both drivers put Postgres' `code` and `constraint` there). */
function readStringField(error: unknown, field: 'code' | 'constraint'): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const found: unknown = Reflect.get(error, field);
  return typeof found === 'string' ? found : undefined;
}

/** A unique violation on a stream revision or an event id: another append got there first. */
function isAppendCollision(error: unknown): boolean {
  const constraint = readStringField(error, 'constraint');
  return (
    readStringField(error, 'code') === UNIQUE_VIOLATION &&
    (constraint === STREAM_REVISION_CONSTRAINT || constraint === EVENT_ID_CONSTRAINT)
  );
}

async function appendToStream(
  sql: SqlClient,
  streamName: StreamName,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): Promise<E.Either<AppendFailure, AppendResult>> {
  try {
    return await sql.transaction((tx) => appendInTransaction(tx, streamName, events, expected));
  } catch (error) {
    if (!isAppendCollision(error)) throw error;

    // A concurrent append committed between our revision check and our insert, which was then
    // rolled back whole. The stream has moved on, unless one of our event ids was already stored
    // elsewhere: then nobody raced us and the caller reused an id.
    const actual = await readLastRevision(sql, streamName);
    if (actual === expected) {
      throw new Error(`an event id of the append to ${streamName} is already stored`, {
        cause: error,
      });
    }
    return resolveMismatch(sql, streamName, events, expected, actual);
  }
}

const DateFromDriver = new t.Type<Date, Date, unknown>(
  'Date',
  (u): u is Date => u instanceof Date,
  (u, context) =>
    u instanceof Date && !Number.isNaN(u.getTime()) ? t.success(u) : t.failure(u, context),
  (date) => date,
);

/** Where a stored event is, known before the rest of its row is trusted. */
const EventKeyRow = t.type({ stream_name: t.string, revision: BigIntFromStored });

const EventRow = t.type({
  position: BigIntFromStored,
  stream_name: StreamName,
  revision: BigIntFromStored,
  event_id: EventId,
  type: t.string,
  data: t.unknown,
  metadata: EventMetadata,
  recorded_at: DateFromDriver,
});

function decodeFailure(key: t.TypeOf<typeof EventKeyRow>, errors: t.Errors): EventDecodeFailure {
  const { path, message } = describeDecodeErrors(errors);
  return {
    _tag: 'EventDecodeFailure',
    streamName: key.stream_name,
    revision: key.revision,
    path,
    message,
  };
}

/** Decodes one stored event, or says which field of which event does not decode. */
function decodeEventRow(row: SqlRow): E.Either<EventDecodeFailure, RecordedEvent> {
  const key = decodeTrusted(EventKeyRow, row);
  const decodedRow = EventRow.decode(row);
  if (E.isLeft(decodedRow)) return E.left(decodeFailure(key, decodedRow.left));

  const stored = decodedRow.right;
  const event = SagaEvent.decode({ type: stored.type, data: stored.data });
  if (E.isLeft(event)) return E.left(decodeFailure(key, event.left));

  return E.right({
    streamName: stored.stream_name,
    revision: stored.revision,
    position: stored.position,
    eventId: stored.event_id,
    event: event.right,
    metadata: stored.metadata,
    recordedAt: stored.recorded_at,
  });
}

function decodeEventRows(
  rows: readonly SqlRow[],
): E.Either<EventDecodeFailure, readonly RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (const row of rows) {
    const decoded = decodeEventRow(row);
    if (E.isLeft(decoded)) return decoded;
    events.push(decoded.right);
  }
  return E.right(events);
}

async function readStream(
  sql: SqlClient,
  streamName: StreamName,
  fromRevision: bigint,
): Promise<E.Either<ReadFailure, readonly RecordedEvent[]>> {
  const result = await sql.query(SELECT_STREAM_EVENTS, [streamName, String(fromRevision)]);
  return decodeEventRows(result.rows);
}

/**
 * Reads the events of one stream with revisions from `fromRevision` to `toRevision`, both
 * included: the bounded read that time travel folds on top of a snapshot.
 */
export async function readStreamRange(
  sql: SqlExecutor,
  streamName: StreamName,
  fromRevision: bigint,
  toRevision: bigint,
): Promise<E.Either<ReadFailure, readonly RecordedEvent[]>> {
  const result = await sql.query(SELECT_STREAM_RANGE, [
    streamName,
    String(fromRevision),
    String(toRevision),
  ]);
  return decodeEventRows(result.rows);
}

async function readAll(
  sql: SqlClient,
  { after = -1n, limit = DEFAULT_READ_ALL_LIMIT }: ReadAllOptions,
): Promise<E.Either<ReadFailure, readonly RecordedEvent[]>> {
  const result = await sql.query(SELECT_ALL_EVENTS, [String(after), limit]);
  return decodeEventRows(result.rows);
}

/**
 * The event store over Postgres or PGlite (see migrations/001_events.sql for the table).
 *
 * - Appends are all or nothing, checked against the stream's expected revision; a concurrent
 *   append that wins the race turns the loser into a `VersionConflictFailure`, never a thrown
 *   driver error. An append retried with the same event ids after its first try committed
 *   reports `alreadyAppended` with the revision of its own last event (BC-14). An append of no
 *   events only checks the revision; its `nextExpectedRevision` is -1n on a stream that does not
 *   exist. An event id stored before anywhere else in the store is a programming error: thrown,
 *   with the driver's error as `cause`.
 * - Appends to different streams commit one at a time, so that `readAll` never skips an event.
 *   Each append notifies `EVENTS_APPENDED_CHANNEL` (`rewind_events`) with its stream name as it
 *   commits, so readers can wait for a notification instead of polling often.
 * - `readAll` holds back every event of a transaction at or above the oldest transaction still
 *   open in the whole Postgres cluster: a long-running writing transaction anywhere, even one
 *   that never touches events, delays what `readAll` returns until it ends.
 * - Every read decodes each row; the first undecodable one makes the read an
 *   `EventDecodeFailure` naming its stream, revision and field.
 *
 * @example
 * ```ts
 * const store = createPostgresEventStore({ sql: await createPgliteSqlClient() });
 * const appended = await store.appendToStream(stream, [started], 'no_stream');
 * ```
 */
export function createPostgresEventStore({ sql }: PostgresEventStoreOptions): EventStore {
  return {
    appendToStream: (streamName, events, expected) =>
      appendToStream(sql, streamName, events, expected),
    readStream: (streamName, fromRevision = 0n) => readStream(sql, streamName, fromRevision),
    readAll: (options = {}) => readAll(sql, options),
    close: async () => {},
  };
}
