import * as E from 'fp-ts/lib/Either.js';

import { readAuditTrail } from '../inspect/list-sagas.js';
import { type ActorOptions, resolveActor } from './cli-actor.js';
import { decodeArgument, NonEmptyArgument } from './cli-arguments.js';
import { withDatabase } from './open-sql.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';

function stepOf(data: unknown): string {
  if (typeof data !== 'object' || data === null || !('step' in data)) return '';
  return typeof data.step === 'string' ? data.step : '';
}

/**
 * `rewind audit --actor <actorId> [--json]`: every event that actor caused, in global order.
 * Here `--actor` names whom the trail is about; the reader is the environment's actor
 * (`REWIND_ACTOR`, `REWIND_TENANT`, `REWIND_ROLES`; default the local operator) and sees only
 * the sagas its tenant may read.
 */
export async function runAuditCommand(
  io: CommandIo,
  options: ActorOptions & { readonly json: boolean },
): Promise<CommandResult> {
  const reader = resolveActor({}, false);
  if (E.isLeft(reader)) return refuse(`audit: ${reader.left}`, 2);
  const subject = decodeArgument(NonEmptyArgument, 'audit: --actor', options.actor);
  if (E.isLeft(subject)) return refuse(subject.left, 2);

  return withDatabase(io, async (sql) => {
    const entries = await readAuditTrail(sql, reader.right, subject.right);
    for (const entry of entries) {
      const row = {
        position: entry.position.toString(),
        stream: entry.stream_name,
        revision: entry.revision.toString(),
        type: entry.type,
        step: stepOf(entry.data),
        occurredAt: entry.metadata.occurredAt,
        eventId: entry.event_id,
      };
      io.out(
        options.json
          ? JSON.stringify(row)
          : [row.occurredAt, row.stream, `#${row.revision}`, row.type, row.step]
              .join('  ')
              .trimEnd(),
      );
    }
    if (!options.json) io.out(`${entries.length} event(s) caused by ${subject.right}`);
    return succeed;
  });
}
