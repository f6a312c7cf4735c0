import * as E from 'fp-ts/lib/Either.js';

import { listSagas, type SagaListFilter, SagaStatusFilter } from '../inspect/list-sagas.js';
import { type ActorOptions, resolveActor } from './cli-actor.js';
import { decodeArgument, TimeArgument } from './cli-arguments.js';
import { withDatabase } from './open-sql.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';

/** Options of `rewind list`, as typed. */
export interface ListCommandOptions extends ActorOptions {
  readonly status?: string;
  readonly saga?: string;
  readonly startedBy?: string;
  readonly ofTenant?: string;
  readonly from?: string;
  readonly before?: string;
  readonly json: boolean;
}

function decodeFilter(options: ListCommandOptions): E.Either<string, SagaListFilter> {
  const status =
    options.status === undefined
      ? E.right(undefined)
      : decodeArgument(SagaStatusFilter, '--status', options.status);
  if (E.isLeft(status)) return status;
  const from =
    options.from === undefined
      ? E.right(undefined)
      : decodeArgument(TimeArgument, '--from', options.from);
  if (E.isLeft(from)) return from;
  const before =
    options.before === undefined
      ? E.right(undefined)
      : decodeArgument(TimeArgument, '--before', options.before);
  if (E.isLeft(before)) return before;
  return E.right({
    ...(status.right === undefined ? {} : { status: status.right }),
    ...(options.saga === undefined ? {} : { saga: options.saga }),
    ...(options.startedBy === undefined ? {} : { actorId: options.startedBy }),
    ...(options.ofTenant === undefined ? {} : { tenant: options.ofTenant }),
    ...(from.right === undefined ? {} : { startedFrom: from.right }),
    ...(before.right === undefined ? {} : { startedBefore: before.right }),
  });
}

/**
 * `rewind list [--status s] [--saga name] [--started-by actor] [--of-tenant t] [--from time]
 * [--before time] [--json]`: the sagas that match, oldest first, among those the actor may read.
 */
export async function runListCommand(
  io: CommandIo,
  options: ListCommandOptions,
): Promise<CommandResult> {
  const filter = decodeFilter(options);
  if (E.isLeft(filter)) return refuse(`list: ${filter.left}`, 2);
  const reader = resolveActor(options, false);
  if (E.isLeft(reader)) return refuse(`list: ${reader.left}`, 2);

  return withDatabase(io, async (sql) => {
    const sagas = await listSagas(sql, reader.right, filter.right);
    for (const saga of sagas) {
      const row = {
        sagaId: saga.saga_id,
        saga: `${saga.saga}@${saga.version}`,
        status: saga.status,
        events: Number(saga.last_revision) + 1,
        actor: saga.actor.id,
        tenant: saga.actor.tenant ?? null,
        startedAt: saga.started_at,
        updatedAt: saga.updated_at,
      };
      io.out(
        options.json
          ? JSON.stringify(row)
          : [
              row.sagaId,
              row.saga,
              row.status.padEnd(12),
              `${row.events} events`,
              row.actor,
              row.tenant ?? '-',
              row.startedAt,
            ].join('  '),
      );
    }
    if (!options.json) io.out(`${sagas.length} saga(s)`);
    return succeed;
  });
}
