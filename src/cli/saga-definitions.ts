import * as E from 'fp-ts/lib/Either.js';

import { createOrderSaga } from '../../examples/order-fulfilment/saga.js';
import { Shop } from '../../examples/order-fulfilment/shop.js';
import type { AnySagaDefinition } from '../core/definition.js';
import type { SqlClient } from '../ports/sql.js';
import { SagaRegistry } from '../runtime/saga-registry.js';
import { hasFields, importUserModule } from './user-module.js';

/** Whether a value is a saga definition as {@link defineSaga} builds it. */
export function isSagaDefinition(value: unknown): value is AnySagaDefinition {
  return hasFields(value, {
    name: 'string',
    version: 'number',
    hash: 'string',
    steps: 'array',
    stepNamed: 'function',
  });
}

/**
 * The saga definitions of the `--sagas` module of `command`, or none when it is not given; left
 * with a sentence naming the file when it is missing, throws on import or exports none. Every
 * command that takes `--sagas` (verify, plan, fork, worker) loads it through this, before it
 * opens the database.
 */
export async function importSagasModule(
  command: string,
  path: string | undefined,
): Promise<E.Either<string, readonly AnySagaDefinition[]>> {
  if (path === undefined) return E.right([]);
  return importUserModule(
    {
      name: `${command}: --sagas`,
      what: 'saga definitions',
      is: isSagaDefinition,
    },
    path,
  );
}

/**
 * The saga definitions the CLI knows: the built-in order-fulfilment example, and `imported`
 * (those of the `--sagas` module, see {@link importSagasModule}).
 */
export function loadSagaDefinitions(
  sql: SqlClient,
  imported: readonly AnySagaDefinition[],
): SagaRegistry {
  return new SagaRegistry([createOrderSaga(new Shop(sql)), ...imported]);
}
