import { createOrderSaga } from '../../examples/order-fulfilment/saga.js';
import { Shop } from '../../examples/order-fulfilment/shop.js';
import type { SqlClient } from '../ports/sql.js';
import { SagaRegistry } from '../runtime/saga-registry.js';
import { importSagaDefinitions } from './verify-command.js';

/**
 * The saga definitions the CLI knows: the built-in order-fulfilment example, and those exported
 * by the module `sagasModule` (`--sagas <module>`), if given.
 */
export async function loadSagaDefinitions(
  sql: SqlClient,
  sagasModule?: string,
): Promise<SagaRegistry> {
  const registry = new SagaRegistry([createOrderSaga(new Shop(sql))]);
  if (sagasModule) {
    for (const definition of await importSagaDefinitions(sagasModule))
      registry.register(definition);
  }
  return registry;
}
