import * as E from 'fp-ts/lib/Either.js';

import { createPostgresEventStore } from '../adapters/postgres/postgres-event-store.js';
import { systemClock } from '../ports/clock.js';
import { uuidGenerator } from '../ports/ids.js';
import {
  describeOperatorCommandFailure,
  type OperatorCommandFailure,
  type OperatorCommandResult,
  requestCancel,
  requestResume,
  requestRetry,
  requestUndo,
} from '../runtime/operator-commands.js';
import { type ActorOptions, resolveActor } from './cli-actor.js';
import {
  decodeArgument,
  decodeOptionalArgument,
  JsonArgument,
  NonEmptyArgument,
  SagaIdArgument,
} from './cli-arguments.js';
import { withDatabase } from './open-sql.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';

/** The operator commands of the CLI. */
export type OperatorCommandName = 'cancel' | 'resume' | 'retry' | 'undo';

/** Options of the operator commands. */
export interface OperatorCommandOptions extends ActorOptions {
  /** Why (cancel, undo). Default: "requested by <actor>". */
  readonly reason?: string;
  /** The resume payload, JSON (resume). Default: null. */
  readonly payload?: string;
  readonly json: boolean;
}

function exitCodeOf(failure: OperatorCommandFailure): number {
  return failure._tag === 'AuthorizationFailure' ? 3 : 1;
}

/**
 * `rewind cancel|resume|retry|undo <sagaId> --actor <id> [--reason r] [--payload json]`: appends
 * the operator's command to the saga at its current revision, as `--actor` (or REWIND_ACTOR).
 * A refused command (not authorized, not applicable) writes nothing and exits non-zero.
 */
export async function runOperatorCommand(
  io: CommandIo,
  name: OperatorCommandName,
  rawSagaId: string,
  options: OperatorCommandOptions,
): Promise<CommandResult> {
  const sagaId = decodeArgument(SagaIdArgument, `${name}: <sagaId>`, rawSagaId);
  if (E.isLeft(sagaId)) return refuse(sagaId.left, 2);
  const actor = resolveActor(options, true);
  if (E.isLeft(actor)) return refuse(`${name}: ${actor.left}`, 2);
  const payload =
    options.payload === undefined
      ? E.right(null)
      : decodeArgument(JsonArgument, `${name}: --payload`, options.payload);
  if (E.isLeft(payload)) return refuse(payload.left, 2);
  const givenReason = decodeOptionalArgument(NonEmptyArgument, `${name}: --reason`, options.reason);
  if (E.isLeft(givenReason)) return refuse(givenReason.left, 2);
  const reason = givenReason.right ?? `requested by ${actor.right.id}`;

  return withDatabase(io, async (sql) => {
    const deps = {
      store: createPostgresEventStore({ sql }),
      clock: systemClock,
      ids: uuidGenerator,
    };
    const command = { actor: actor.right, reason };
    let result: E.Either<OperatorCommandFailure, OperatorCommandResult>;
    switch (name) {
      case 'cancel':
        result = await requestCancel(deps, sagaId.right, command);
        break;
      case 'resume':
        result = await requestResume(deps, sagaId.right, {
          actor: actor.right,
          payload: payload.right,
        });
        break;
      case 'undo':
        result = await requestUndo(deps, sagaId.right, command);
        break;
      case 'retry':
        result = await requestRetry({ ...deps, sql }, sagaId.right, { actor: actor.right });
        break;
    }
    if (E.isLeft(result))
      return refuse(
        `${name}: ${describeOperatorCommandFailure(result.left)}`,
        exitCodeOf(result.left),
      );
    const { revision, tries } = result.right;
    if (options.json) {
      io.out(
        JSON.stringify({
          command: name,
          sagaId: sagaId.right,
          actor: actor.right.id,
          revision: revision.toString(),
          tries,
        }),
      );
    } else if (name === 'retry') {
      io.out(`retry of saga ${sagaId.right} queued at revision ${revision} by ${actor.right.id}`);
    } else {
      io.out(`${name} of saga ${sagaId.right} recorded as event ${revision} by ${actor.right.id}`);
    }
    return succeed;
  });
}
