import * as E from 'fp-ts/lib/Either.js';

import { createPostgresEventStore } from '../adapters/postgres/postgres-event-store.js';
import { SELECT_LAST_REVISION } from '../adapters/postgres/sql/events.js';
import { canActForTenant } from '../audit/authorization.js';
import { describeIntegrityFinding, isTamperFinding, verifyChain } from '../audit/integrity.js';
import type { Actor } from '../core/events.js';
import type { StreamName } from '../core/ids.js';
import { toChainRow } from '../inspect/ndjson.js';
import type { SqlClient, SqlExecutor } from '../ports/sql.js';
import { type ActorOptions, resolveActor } from './cli-actor.js';
import { decodeArgument, NonEmptyArgument } from './cli-arguments.js';
import {
  RELEASE_APPEND,
  ROLLBACK_TO_APPEND,
  SAVEPOINT_APPEND,
  SELECT_STORED_EVENT_IDS,
} from './import-statements.js';
import {
  type FileEntries,
  type FileStreams,
  lineOfRevision,
  readNdjsonFile,
} from './ndjson-file.js';
import { withDatabase } from './open-sql.js';
import { startProgress } from './progress.js';
import {
  type CommandIo,
  type CommandRefusal,
  type CommandResult,
  refuse,
  succeed,
} from './run-command.js';

/** Refuses a stream of the file whose hash chain is broken: a line edited, removed or moved. */
function checkChain(file: string, streamName: StreamName, entries: FileEntries): CommandResult {
  const chained = entries.filter(({ event }) => event.hash != null);
  if (chained.length === 0) return succeed;
  const verdict = verifyChain(
    streamName,
    entries.map(({ event }) => toChainRow(event)),
  );
  const bad = verdict.findings.find(isTamperFinding);
  if (bad === undefined) return succeed;
  const line = lineOfRevision(entries, bad.revision);
  return refuse(`import: ${file}:${line}: hash: ${describeIntegrityFinding(streamName, bad)}`, 2);
}

/** Refuses a broken chain (exit 2), or a saga of a tenant the actor may not act for (exit 3). */
function checkStreams(file: string, streams: FileStreams, actor: Actor): CommandResult {
  for (const [streamName, entries] of streams) {
    const chain = checkChain(file, streamName, entries);
    if (E.isLeft(chain)) return chain;
    const first = entries[0];
    const tenant = first?.event.metadata.actor.tenant;
    if (first && !canActForTenant(actor, tenant)) {
      const refused = `not authorized to import sagas of tenant ${tenant ?? '(none)'}`;
      return refuse(`import: ${file}:${first.line}: ${refused}`, 3);
    }
  }
  return succeed;
}

/** Refuses a stream of the file that the store holds already, or an event id stored already. */
async function checkAgainstStore(
  tx: SqlExecutor,
  file: string,
  streams: FileStreams,
): Promise<CommandResult> {
  for (const [streamName, entries] of streams) {
    const head = await tx.query(SELECT_LAST_REVISION, [streamName]);
    const revision = head.rows[0]?.revision;
    if (revision !== null && revision !== undefined) {
      const line = entries[0]?.line ?? 0;
      return refuse(`import: ${file}:${line}: streamName: ${streamName} is in the store already`);
    }
  }
  const entries = [...streams.values()].flat();
  const ids = JSON.stringify(entries.map(({ event }) => event.eventId));
  const found = await tx.query(SELECT_STORED_EVENT_IDS, [ids]);
  const stored = new Set(found.rows.map((row) => row.event_id));
  const reused = entries.find(({ event }) => stored.has(event.eventId));
  if (reused === undefined) return succeed;
  const { line, event } = reused;
  return refuse(`import: ${file}:${line}: eventId: ${event.eventId} is in the store already`);
}

/**
 * The import's transaction as the event store's client: each append runs in a savepoint of it,
 * so an append that fails leaves the transaction usable, and the import commits or rolls back
 * as one.
 */
function insideTransaction(sql: SqlClient, tx: SqlExecutor): SqlClient {
  return {
    driver: sql.driver,
    query: (text, params) => tx.query(text, params),
    exec: (script) => tx.exec(script),
    async transaction(work) {
      await tx.query(SAVEPOINT_APPEND);
      try {
        const result = await work(tx);
        await tx.query(RELEASE_APPEND);
        return result;
      } catch (error) {
        await tx.query(ROLLBACK_TO_APPEND);
        throw error;
      }
    },
    listen: () => Promise.reject(new Error('the import transaction does not listen')),
    close: async () => {},
  };
}

/** Thrown inside the import's transaction to roll it back: `transaction` commits what resolves. */
class ImportRolledBackError extends Error {
  readonly _tag = 'ImportRolledBackError';
  constructor(readonly refusal: CommandRefusal) {
    super(refusal.message);
  }
}

function isImportRolledBack(error: unknown): error is ImportRolledBackError {
  return (
    typeof error === 'object' &&
    error !== null &&
    Reflect.get(error, '_tag') === 'ImportRolledBackError'
  );
}

/** Checks the file against the store and appends every stream; a refusal rolls back. */
async function appendStreams(
  sql: SqlClient,
  tx: SqlExecutor,
  file: string,
  streams: FileStreams,
  onStream: () => void,
): Promise<number> {
  const checked = await checkAgainstStore(tx, file, streams);
  if (E.isLeft(checked)) throw new ImportRolledBackError(checked.left);
  const store = createPostgresEventStore({ sql: insideTransaction(sql, tx) });
  let events = 0;
  for (const [streamName, entries] of streams) {
    const batch = entries.map(({ event: { eventId, event, metadata } }) => ({
      eventId,
      event,
      metadata,
    }));
    const appended = await store.appendToStream(streamName, batch, 'no_stream');
    if (E.isLeft(appended)) {
      const message = `import: ${streamName} was written meanwhile; nothing was imported`;
      throw new ImportRolledBackError({ exitCode: 1, message });
    }
    events += batch.length;
    onStream();
  }
  return events;
}

/**
 * Appends every stream of the file in one transaction: all of them, or none. The append lock
 * is held from the first stream to the commit, so other appends wait while a large file imports.
 */
async function importStreams(
  sql: SqlClient,
  file: string,
  streams: FileStreams,
  json: boolean,
): Promise<E.Either<CommandRefusal, number>> {
  const progress = startProgress('import', streams.size, json);
  try {
    const events = await sql.transaction((tx) =>
      appendStreams(sql, tx, file, streams, () => progress.tick()),
    );
    return E.right(events);
  } catch (error) {
    if (isImportRolledBack(error)) return E.left(error.refusal);
    throw error;
  } finally {
    progress.stop();
  }
}

/**
 * `rewind import <file> [--json]`: appends the sagas of an NDJSON export to the store. Every
 * line is decoded with io-ts and every stream checked (no event id twice, revisions from 0,
 * SagaStarted first, the hash chain intact, the actor allowed for its tenant) before the
 * database is opened; a bad line is refused as `file:line: field: message` with exit code 2.
 * Then, in one transaction, each stream is checked absent from the store (exit 1 if not) and
 * appended: a refusal or a crash midway imports nothing.
 */
export async function runImportCommand(
  io: CommandIo,
  file: string,
  options: ActorOptions & { readonly json: boolean },
): Promise<CommandResult> {
  const named = decodeArgument(NonEmptyArgument, 'import: <file>', file);
  if (E.isLeft(named)) return refuse(named.left, 2);
  const actor = resolveActor(options, true);
  if (E.isLeft(actor)) return refuse(`import: ${actor.left}`, 2);

  const streams = await readNdjsonFile(file);
  if (E.isLeft(streams)) return refuse(`import: ${streams.left}`, 2);
  const checked = checkStreams(file, streams.right, actor.right);
  if (E.isLeft(checked)) return checked;

  return withDatabase(io, async (sql) => {
    const events = await importStreams(sql, file, streams.right, options.json);
    if (E.isLeft(events)) return E.left(events.left);
    const counts = { file, streams: streams.right.size, events: events.right };
    io.out(
      options.json
        ? JSON.stringify(counts)
        : `imported ${counts.streams} saga(s), ${counts.events} event(s) from ${file}`,
    );
    return succeed;
  });
}
