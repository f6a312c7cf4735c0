import * as E from 'fp-ts/lib/Either.js';

import { planCompensation } from '../core/compensation-plan.js';
import { encodeValue } from '../core/values.js';
import { describeTimeTravelFailure, loadStateAt } from '../inspect/state-at.js';
import { describeDefinitionLookupFailure } from '../runtime/saga-registry.js';
import type { ActorOptions } from './cli-actor.js';
import { decodeOptionalArgument, NonEmptyArgument } from './cli-arguments.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { withSagaAccess } from './saga-access.js';
import { importSagasModule, loadSagaDefinitions } from './saga-definitions.js';

function outputJson(output: unknown): unknown {
  const encoded = encodeValue(output, 'output');
  return E.isRight(encoded) ? encoded.right : null;
}

/**
 * `rewind plan <sagaId> [--json] [--sagas <module>]`: what a rollback would undo now, in order,
 * with the recorded output each undo is given; for a saga rolling back, what is left to undo.
 * Needs the saga's definition (built in, or exported by `--sagas`) to know which steps have an
 * undo.
 */
export async function runPlanCommand(
  io: CommandIo,
  rawSagaId: string,
  options: ActorOptions & { readonly json: boolean; readonly sagas?: string },
): Promise<CommandResult> {
  const sagas = decodeOptionalArgument(NonEmptyArgument, 'plan: --sagas', options.sagas);
  if (E.isLeft(sagas)) return refuse(sagas.left, 2);
  const imported = await importSagasModule('plan', sagas.right);
  if (E.isLeft(imported)) return refuse(imported.left, 2);

  return withSagaAccess(
    io,
    'plan',
    rawSagaId,
    { ...options, operation: 'read' },
    async ({ sql, sagaId }) => {
      const loaded = await loadStateAt(sql, sagaId);
      if (E.isLeft(loaded)) return refuse(`plan: ${describeTimeTravelFailure(loaded.left)}`);
      const { state } = loaded.right;
      if (state.status === 'initial') return refuse(`plan: saga ${sagaId} has not started`);
      const registry = loadSagaDefinitions(sql, imported.right);
      const definition = registry.resolve(state.saga, state.version, state.definitionHash);
      if (E.isLeft(definition))
        return refuse(`plan: ${describeDefinitionLookupFailure(definition.left)}`);

      const plan = planCompensation(definition.right, state);
      const compensations = plan.compensations.map((entry, index) => ({
        order: index + 1,
        step: entry.step,
        undo: entry.undo,
        attempt: entry.attempt,
        output: outputJson(entry.output),
      }));
      if (options.json) {
        io.out(JSON.stringify({ sagaId, status: state.status, ...plan, compensations }));
        return succeed;
      }
      io.out(`saga ${sagaId} (${state.saga} v${state.version}) is ${state.status}`);
      if (compensations.length === 0) io.out('nothing to compensate');
      for (const entry of compensations) {
        const what =
          entry.undo === 'attempt'
            ? 'undo its failed attempt'
            : `compensate ${JSON.stringify(entry.output)}`;
        const retry = entry.attempt > 1 ? ` (try ${entry.attempt})` : '';
        io.out(`  ${entry.order}. ${entry.step}: ${what}${retry}`);
      }
      for (const kept of plan.kept) io.out(`  kept: ${kept.step} (${kept.reason})`);
      for (const step of plan.inDoubt) io.out(`  in doubt: ${step} is recorded failed first`);
      for (const step of plan.compensated) io.out(`  already compensated: ${step}`);
      for (const step of plan.failed) io.out(`  undo failed for good: ${step} (needs an operator)`);
      return succeed;
    },
  );
}
