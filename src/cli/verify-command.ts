import * as E from 'fp-ts/lib/Either.js';

import { createPostgresEventStore } from '../adapters/postgres/postgres-event-store.js';
import type { RecordedEvent } from '../core/events.js';
import { type StreamName, sagaIdOfStream, sagaStreamName } from '../core/ids.js';
import type { EventStore, ReadFailure } from '../ports/event-store.js';
import { describeSagaRunFailure } from '../runtime/describe-failure.js';
import { openMigratedDatabase } from '../runtime/rewind.js';
import type { SagaRegistry } from '../runtime/saga-registry.js';
import { verifyHistory } from '../runtime/verify-history.js';
import { decodeOptionalArgument, NonEmptyArgument, SagaIdArgument } from './cli-arguments.js';
import { runIntegrityCommand } from './integrity-command.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { importSagasModule, loadSagaDefinitions } from './saga-definitions.js';

/** Options of `rewind verify`. */
export interface VerifyCommandOptions {
  /** Verify this saga only. Default: every saga in the store. */
  readonly saga?: string;
  /** Print one JSON object per saga instead of a line of text. */
  readonly json: boolean;
  /** A module whose exports include saga definitions, verified beside the built-in ones. */
  readonly sagas?: string;
  /** Check the hash chains instead (tamper evidence); see {@link runIntegrityCommand}. */
  readonly integrity?: boolean;
}

/** The streams of every saga in the store, in order of their first event. */
async function listSagaStreams(store: EventStore): Promise<E.Either<ReadFailure, StreamName[]>> {
  const streams = new Set<StreamName>();
  let after = -1n;
  for (;;) {
    const page = await store.readAll({ after, limit: 1000 });
    if (E.isLeft(page)) return page;
    for (const recorded of page.right) {
      if (sagaIdOfStream(recorded.streamName) !== undefined) streams.add(recorded.streamName);
    }
    const last = page.right.at(-1);
    if (!last) return E.right([...streams]);
    after = last.position;
  }
}

function describeVerification(
  streamName: StreamName,
  events: readonly RecordedEvent[],
  registry: SagaRegistry,
) {
  const sagaId = sagaIdOfStream(streamName) ?? streamName;
  const verified = verifyHistory(registry, events);
  if (E.isRight(verified)) {
    const { saga, version, status, decisions } = verified.right;
    return {
      ok: true,
      json: { sagaId, saga, version, status, events: events.length, decisions, matches: true },
      text: `ok    ${sagaId} ${saga}@${version} ${status}: ${decisions} decisions match`,
    };
  }
  const { revision, eventType, detail } = verified.left;
  return {
    ok: false,
    json: { sagaId, matches: false, revision: revision.toString(), eventType, detail },
    text: `DIVERGES ${sagaId} at revision ${revision} (${eventType}): ${detail}`,
  };
}

/**
 * `rewind verify [--saga <id>] [--json] [--sagas <module>]`: replays stored histories against
 * the saga definitions and reports, per saga, whether the recorded decisions match, naming the
 * first diverging event if not. The definitions are the built-in order-fulfilment saga and
 * those exported by `--sagas`. Exit code 1 when any saga diverges.
 */
export async function runVerifyCommand(
  io: CommandIo,
  options: VerifyCommandOptions,
): Promise<CommandResult> {
  if (options.integrity) return runIntegrityCommand(io, options);
  const saga = decodeOptionalArgument(SagaIdArgument, 'verify: --saga', options.saga);
  if (E.isLeft(saga)) return refuse(saga.left, 2);
  const sagas = decodeOptionalArgument(NonEmptyArgument, 'verify: --sagas', options.sagas);
  if (E.isLeft(sagas)) return refuse(sagas.left, 2);
  const imported = await importSagasModule('verify', sagas.right);
  if (E.isLeft(imported)) return refuse(imported.left, 2);
  const sql = await openMigratedDatabase(io.config, io.logger);
  try {
    const registry = loadSagaDefinitions(sql, imported.right);
    io.logger.debug({ sagas: registry.all().map((d) => `${d.name}@${d.version}`) }, 'verifying');
    const store = createPostgresEventStore({ sql });
    const streams =
      saga.right === undefined
        ? await listSagaStreams(store)
        : E.right([sagaStreamName(saga.right)]);
    if (E.isLeft(streams)) return refuse(describeSagaRunFailure(streams.left));

    let diverged = 0;
    for (const streamName of streams.right) {
      const events = await store.readStream(streamName);
      if (E.isLeft(events)) return refuse(describeSagaRunFailure(events.left));
      if (events.right.length === 0) return refuse(`verify: saga ${options.saga} has no events`);
      const result = describeVerification(streamName, events.right, registry);
      if (!result.ok) diverged += 1;
      io.out(options.json ? JSON.stringify(result.json) : result.text);
    }
    if (!options.json) io.out(`${streams.right.length} saga(s) verified, ${diverged} diverge`);
    return diverged > 0 ? refuse(`verify: ${diverged} saga(s) diverge`) : succeed;
  } finally {
    await sql.close();
  }
}
