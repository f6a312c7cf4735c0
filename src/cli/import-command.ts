import { readFile } from 'node:fs/promises';

import * as E from 'fp-ts/lib/Either.js';

import { createPostgresEventStore } from '../adapters/postgres/postgres-event-store.js';
import { SELECT_LAST_REVISION } from '../adapters/postgres/sql/events.js';
import { canActForTenant } from '../audit/authorization.js';
import { describeIntegrityFinding, isTamperFinding, verifyChain } from '../audit/integrity.js';
import type { StreamName } from '../core/ids.js';
import {
  decodeNdjson,
  describeNdjsonLineFailure,
  type ExportedEvent,
  groupByStream,
  toChainRow,
} from '../inspect/ndjson.js';
import type { SqlExecutor } from '../ports/sql.js';
import { type ActorOptions, resolveActor } from './cli-actor.js';
import { decodeArgument, NonEmptyArgument } from './cli-arguments.js';
import { withDatabase } from './open-sql.js';
import { startProgress } from './progress.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';

type Entries = readonly { readonly line: number; readonly event: ExportedEvent }[];

/** Checks one stream of a file: starts with SagaStarted at 0, no gaps, an intact chain. */
function checkStream(file: string, streamName: StreamName, entries: Entries): string | undefined {
  for (const [index, { line, event }] of entries.entries()) {
    if (event.revision !== BigInt(index)) {
      return `${file}:${line}: revision: expected ${index} in ${streamName}, got ${event.revision}`;
    }
    if (index === 0 && event.event.type !== 'SagaStarted') {
      return `${file}:${line}: event.type: a stream must start with SagaStarted`;
    }
  }
  const chained = entries.filter(({ event }) => event.hash != null);
  if (chained.length === 0) return undefined;
  const verdict = verifyChain(
    streamName,
    entries.map(({ event }) => toChainRow(event)),
  );
  const bad = verdict.findings.find(isTamperFinding);
  if (bad === undefined) return undefined;
  const line = entries[Number(bad.revision)]?.line ?? 0;
  return `${file}:${line}: hash: ${describeIntegrityFinding(streamName, bad)}`;
}

async function streamExists(db: SqlExecutor, streamName: StreamName): Promise<boolean> {
  const result = await db.query(SELECT_LAST_REVISION, [streamName]);
  const revision = result.rows[0]?.revision;
  return revision !== null && revision !== undefined;
}

/**
 * `rewind import <file> [--json]`: appends the sagas of an NDJSON export to the store. Every
 * line is decoded with io-ts and every stream checked (revisions from 0, SagaStarted first, the
 * hash chain intact, the stream not in the store yet, the actor allowed for its tenant) before
 * anything is written; the first problem is refused as `file:line: field: message` and nothing
 * is imported. Streams are then appended one transaction each: a crash midway leaves the
 * streams before it imported, and running the import again refuses them as already present.
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
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return refuse(`import: cannot read ${file}`, 2);
  const decoded = decodeNdjson(text, file);
  if (E.isLeft(decoded)) return refuse(`import: ${describeNdjsonLineFailure(decoded.left)}`);
  const streams = groupByStream(decoded.right);

  for (const [streamName, entries] of streams) {
    const problem = checkStream(file, streamName, entries);
    if (problem) return refuse(`import: ${problem}`);
    const first = entries[0];
    const tenant = first?.event.metadata.actor.tenant;
    if (first && !canActForTenant(actor.right, tenant)) {
      return refuse(
        `import: ${file}:${first.line}: not authorized to import sagas of tenant ` +
          (tenant ?? '(none)'),
        3,
      );
    }
  }

  return withDatabase(io, async (sql) => {
    for (const [streamName, entries] of streams) {
      if (await streamExists(sql, streamName)) {
        return refuse(
          `import: ${file}:${entries[0]?.line ?? 0}: streamName: ${streamName} ` +
            'is in the store already',
        );
      }
    }
    const store = createPostgresEventStore({ sql });
    const progress = startProgress('import', streams.size, options.json);
    let events = 0;
    try {
      for (const [streamName, entries] of streams) {
        const batch = entries.map(({ event }) => ({
          eventId: event.eventId,
          event: event.event,
          metadata: event.metadata,
        }));
        const appended = await store.appendToStream(streamName, batch, 'no_stream');
        if (E.isLeft(appended))
          return refuse(`import: ${streamName} was written meanwhile; stopped there`);
        events += batch.length;
        progress.tick();
      }
    } finally {
      progress.stop();
    }
    io.out(
      options.json
        ? JSON.stringify({ file, streams: streams.size, events })
        : `imported ${streams.size} saga(s), ${events} event(s) from ${file}`,
    );
    return succeed;
  });
}
