import * as E from 'fp-ts/lib/Either.js';
import { createPostgresEventStore } from '../adapters/postgres/postgres-event-store.js';
import { authorizeSagaAccess } from '../audit/saga-ownership.js';
import { EventMetadata, SagaEvent } from '../core/events.js';
import { sagaStreamName } from '../core/ids.js';
import { describeSagaRunFailure } from '../runtime/describe-failure.js';
import { openMigratedDatabase } from '../runtime/rewind.js';
import { type ActorOptions, resolveActor } from './cli-actor.js';
import { decodeArgument, SagaIdArgument } from './cli-arguments.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { describeSagaAccessFailure } from './saga-access.js';
import { buildTimeline, formatTimeline } from './timeline.js';

/**
 * `rewind history <sagaId> [--json] [--actor id --tenant t]`: one saga's timeline from the store,
 * if the actor may read it (default: the local operator).
 */
export async function runHistoryCommand(
  io: CommandIo,
  rawSagaId: string,
  options: ActorOptions & { readonly json: boolean },
): Promise<CommandResult> {
  const sagaId = decodeArgument(SagaIdArgument, 'history: <sagaId>', rawSagaId);
  if (E.isLeft(sagaId)) return refuse(sagaId.left, 2);
  const actor = resolveActor(options, false);
  if (E.isLeft(actor)) return refuse(`history: ${actor.left}`, 2);

  const sql = await openMigratedDatabase(io.config, io.logger);
  try {
    // Authorized before the stream is read: another tenant's actor learns nothing of it.
    const access = await authorizeSagaAccess(sql, sagaId.right, actor.right, 'read');
    if (E.isLeft(access) && access.left._tag === 'AuthorizationFailure') {
      return refuse(`history: ${describeSagaAccessFailure(access.left)}`, 3);
    }
    const store = createPostgresEventStore({ sql });
    const events = await store.readStream(sagaStreamName(sagaId.right));
    if (E.isLeft(events)) return refuse(describeSagaRunFailure(events.left));
    if (events.right.length === 0) return refuse(`history: saga ${sagaId.right} has no events`);

    if (options.json) {
      for (const recorded of events.right) {
        io.out(
          JSON.stringify({
            revision: recorded.revision.toString(),
            position: recorded.position.toString(),
            eventId: recorded.eventId,
            event: SagaEvent.encode(recorded.event),
            metadata: EventMetadata.encode(recorded.metadata),
          }),
        );
      }
    } else {
      io.out(formatTimeline(buildTimeline(events.right)));
    }
    return succeed;
  } finally {
    await sql.close();
  }
}
