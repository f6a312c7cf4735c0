import * as E from 'fp-ts/lib/Either.js';

import { readStreamRange } from '../adapters/postgres/postgres-event-store.js';
import { sagaStreamName } from '../core/ids.js';
import { diffValues, formatValueChange } from '../inspect/diff-values.js';
import { encodeSagaState } from '../inspect/saga-state-codec.js';
import { loadStateAt } from '../inspect/state-at.js';
import { describeSagaRunFailure } from '../runtime/describe-failure.js';
import type { ActorOptions } from './cli-actor.js';
import { checkArgumentOrder, decodeArgument, RevisionArgument } from './cli-arguments.js';
import { refuseTimeTravel } from './revision-range.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { withSagaAccess } from './saga-access.js';

/**
 * `rewind diff <sagaId> <a> <b> [--json]`: what changed in the saga's state from after event `a`
 * to after event `b`, leaf by leaf, and the events in between.
 */
export async function runDiffCommand(
  io: CommandIo,
  rawSagaId: string,
  rawFrom: string,
  rawTo: string,
  options: ActorOptions & { readonly json: boolean },
): Promise<CommandResult> {
  const from = decodeArgument(RevisionArgument, 'diff: <a>', rawFrom);
  if (E.isLeft(from)) return refuse(from.left, 2);
  const to = decodeArgument(RevisionArgument, 'diff: <b>', rawTo);
  if (E.isLeft(to)) return refuse(to.left, 2);
  const ordered = checkArgumentOrder(['<a>', from.right], ['<b>', to.right], false);
  if (E.isLeft(ordered)) return refuse(`diff: ${ordered.left}`, 2);

  return withSagaAccess(
    io,
    'diff',
    rawSagaId,
    { ...options, operation: 'read' },
    async ({ sql, sagaId }) => {
      const before = await loadStateAt(sql, sagaId, from.right);
      if (E.isLeft(before))
        return refuseTimeTravel({ command: 'diff', argument: '<a>' }, before.left);
      const after = await loadStateAt(sql, sagaId, to.right);
      if (E.isLeft(after))
        return refuseTimeTravel({ command: 'diff', argument: '<b>' }, after.left);
      const between = await readStreamRange(sql, sagaStreamName(sagaId), from.right + 1n, to.right);
      if (E.isLeft(between)) return refuse(`diff: ${describeSagaRunFailure(between.left)}`);

      const changes = diffValues(
        encodeSagaState(before.right.state),
        encodeSagaState(after.right.state),
      );
      const events = between.right.map((recorded) => ({
        revision: recorded.revision.toString(),
        type: recorded.event.type,
        actor: recorded.metadata.actor.id,
      }));
      if (options.json) {
        io.out(
          JSON.stringify({
            sagaId,
            from: from.right.toString(),
            to: to.right.toString(),
            events,
            changes,
          }),
        );
        return succeed;
      }
      io.out(`saga ${sagaId}: event ${from.right} -> event ${to.right}`);
      for (const event of events) io.out(`  #${event.revision} ${event.type} by ${event.actor}`);
      if (changes.length === 0) io.out('no change');
      for (const change of changes) io.out(formatValueChange(change));
      return succeed;
    },
  );
}
