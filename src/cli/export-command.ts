import { createWriteStream } from 'node:fs';

import * as E from 'fp-ts/lib/Either.js';

import { createPostgresEventStore } from '../adapters/postgres/postgres-event-store.js';
import { listStreamNames, readChainRows } from '../audit/integrity.js';
import { authorizeSagaAccess } from '../audit/saga-ownership.js';
import { type SagaId, StreamName, sagaIdOfStream, sagaStreamName } from '../core/ids.js';
import { encodeExportedLine } from '../inspect/ndjson.js';
import { describeSagaRunFailure } from '../runtime/describe-failure.js';
import { type ActorOptions, resolveActor } from './cli-actor.js';
import {
  decodeArgument,
  decodeOptionalArgument,
  NonEmptyArgument,
  SagaIdArgument,
} from './cli-arguments.js';
import { withDatabase } from './open-sql.js';
import { startProgress } from './progress.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { describeSagaAccessFailure } from './saga-access.js';

/** Options of `rewind export`. */
export interface ExportCommandOptions extends ActorOptions {
  /** Export every saga the actor may read. */
  readonly all: boolean;
  /** Write here instead of standard output. */
  readonly out?: string;
  readonly json: boolean;
}

function decodeSagaIds(raw: readonly string[]): E.Either<string, SagaId[]> {
  const ids: SagaId[] = [];
  for (const value of raw) {
    const id = decodeArgument(SagaIdArgument, 'export: <sagaId>', value);
    if (E.isLeft(id)) return id;
    ids.push(id.right);
  }
  return E.right(ids);
}

/**
 * `rewind export <sagaId...> | --all [--out file]`: the sagas' events as NDJSON, one line per
 * event with its chain hashes (see src/inspect/ndjson.ts). With `--out` a progress bar is drawn on
 * a terminal; the NDJSON itself is the same with or without `--json`.
 */
export async function runExportCommand(
  io: CommandIo,
  rawSagaIds: readonly string[],
  options: ExportCommandOptions,
): Promise<CommandResult> {
  const requested = decodeSagaIds(rawSagaIds);
  if (E.isLeft(requested)) return refuse(requested.left, 2);
  if (!options.all && requested.right.length === 0)
    return refuse('export: name a saga or --all', 2);
  const out = decodeOptionalArgument(NonEmptyArgument, 'export: --out', options.out);
  if (E.isLeft(out)) return refuse(out.left, 2);
  const actor = resolveActor(options, false);
  if (E.isLeft(actor)) return refuse(`export: ${actor.left}`, 2);

  return withDatabase(io, async (sql) => {
    const sagaIds = options.all
      ? (await listStreamNames(sql)).flatMap((name) => {
          const id = StreamName.is(name) ? sagaIdOfStream(name) : undefined;
          return id === undefined ? [] : [id];
        })
      : requested.right;
    const allowed: SagaId[] = [];
    for (const sagaId of sagaIds) {
      const access = await authorizeSagaAccess(sql, sagaId, actor.right, 'read');
      // With --all, sagas of other tenants are left out; a named one is refused.
      if (E.isRight(access)) allowed.push(sagaId);
      else if (!options.all) {
        const code = access.left._tag === 'AuthorizationFailure' ? 3 : 1;
        return refuse(`export: ${describeSagaAccessFailure(access.left)}`, code);
      }
    }

    const file = out.right === undefined ? undefined : createWriteStream(out.right);
    const write = (line: string) => (file ? file.write(`${line}\n`) : io.out(line));
    const progress = startProgress('export', allowed.length, options.json || file === undefined);
    const store = createPostgresEventStore({ sql });
    try {
      for (const sagaId of allowed) {
        const events = await store.readStream(sagaStreamName(sagaId));
        if (E.isLeft(events)) return refuse(`export: ${describeSagaRunFailure(events.left)}`);
        const hashes = new Map(
          (await readChainRows(sql, sagaStreamName(sagaId))).rows.map((row) => [
            row.revision,
            { prevHash: row.prev_hash, hash: row.hash },
          ]),
        );
        for (const recorded of events.right) {
          const chain = hashes.get(recorded.revision) ?? { prevHash: null, hash: null };
          write(encodeExportedLine(recorded, chain));
        }
        progress.tick();
      }
    } finally {
      progress.stop();
      if (file) await new Promise<void>((resolve) => file.end(resolve));
    }
    return succeed;
  });
}
