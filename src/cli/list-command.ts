import * as E from 'fp-ts/lib/Either.js';

import { listSagas, type SagaListFilter, SagaStatusFilter } from '../inspect/list-sagas.js';
import { type ActorOptions, resolveActor } from './cli-actor.js';
import {
  checkArgumentOrder,
  decodeOptionalArgument,
  NonEmptyArgument,
  OneOfArgument,
  TimeArgument,
} from './cli-arguments.js';
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

const StatusArgument = OneOfArgument(SagaStatusFilter);

function decodeFilter(options: ListCommandOptions): E.Either<string, SagaListFilter> {
  const status = decodeOptionalArgument(StatusArgument, '--status', options.status);
  if (E.isLeft(status)) return status;
  const saga = decodeOptionalArgument(NonEmptyArgument, '--saga', options.saga);
  if (E.isLeft(saga)) return saga;
  const actorId = decodeOptionalArgument(NonEmptyArgument, '--started-by', options.startedBy);
  if (E.isLeft(actorId)) return actorId;
  const tenant = decodeOptionalArgument(NonEmptyArgument, '--of-tenant', options.ofTenant);
  if (E.isLeft(tenant)) return tenant;
  const from = decodeOptionalArgument(TimeArgument, '--from', options.from);
  if (E.isLeft(from)) return from;
  const before = decodeOptionalArgument(TimeArgument, '--before', options.before);
  if (E.isLeft(before)) return before;
  if (from.right !== undefined && before.right !== undefined) {
    const ordered = checkArgumentOrder(['--from', from.right], ['--before', before.right], true);
    if (E.isLeft(ordered)) return ordered;
  }
  return E.right({
    ...(status.right === undefined ? {} : { status: status.right }),
    ...(saga.right === undefined ? {} : { saga: saga.right }),
    ...(actorId.right === undefined ? {} : { actorId: actorId.right }),
    ...(tenant.right === undefined ? {} : { tenant: tenant.right }),
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
