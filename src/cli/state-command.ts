import * as E from 'fp-ts/lib/Either.js';

import { encodeSagaState } from '../inspect/saga-state-codec.js';
import { loadStateAt } from '../inspect/state-at.js';
import type { ActorOptions } from './cli-actor.js';
import { decodeArgument, RevisionArgument } from './cli-arguments.js';
import { refuseTimeTravel } from './revision-range.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { withSagaAccess } from './saga-access.js';

/** Options of `rewind state`. */
export interface StateCommandOptions extends ActorOptions {
  /** The event number (revision) to stop after. Default: the last event. */
  readonly at?: string;
  readonly json: boolean;
}

/**
 * `rewind state <sagaId> [--at <n>] [--json]`: the saga's state after its event `n` (its
 * revision, as `rewind history` numbers them), folded from the nearest snapshot.
 */
export async function runStateCommand(
  io: CommandIo,
  rawSagaId: string,
  options: StateCommandOptions,
): Promise<CommandResult> {
  const at =
    options.at === undefined
      ? E.right(undefined)
      : decodeArgument(RevisionArgument, 'state: --at', options.at);
  if (E.isLeft(at)) return refuse(at.left, 2);

  return withSagaAccess(
    io,
    'state',
    rawSagaId,
    { ...options, operation: 'read' },
    async ({ sql, sagaId }) => {
      const loaded = await loadStateAt(sql, sagaId, at.right);
      if (E.isLeft(loaded))
        return refuseTimeTravel({ command: 'state', argument: '--at' }, loaded.left);
      const { state, revision, lastRevision, snapshotRevision, eventsFolded } = loaded.right;
      const encoded = encodeSagaState(state);
      if (options.json) {
        io.out(
          JSON.stringify({
            sagaId,
            revision: revision.toString(),
            lastRevision: lastRevision.toString(),
            snapshotRevision: snapshotRevision?.toString() ?? null,
            eventsFolded,
            state: encoded,
          }),
        );
        return succeed;
      }
      io.out(`saga ${sagaId} after event ${revision} of 0..${lastRevision}: ${state.status}`);
      io.out(JSON.stringify(encoded, null, 2));
      return succeed;
    },
  );
}
