import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readCatalogue } from '../../examples/order-fulfilment/catalogue.js';
import { resolveExampleFile } from '../../examples/order-fulfilment/files.js';
import { readOrders } from '../../examples/order-fulfilment/order.js';
import { predictOutcomes } from '../../examples/order-fulfilment/outcomes.js';
import { runOrderDemo } from '../../examples/order-fulfilment/run-demo.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const ORDERS = 80;

describe('order demo', () => {
  it('completes or compensates every order and keeps the shop invariants, twice', async () => {
    const orders = (await readOrders(resolveExampleFile('orders.csv'))).slice(0, ORDERS);
    const { counts } = predictOutcomes(
      orders,
      await readCatalogue(resolveExampleFile('catalogue.csv')),
    );
    const compensated =
      counts['out-of-stock'] + counts['card-declined'] + counts['shipment-refused'];
    expect(counts.completed).toBeGreaterThan(0);
    expect(compensated).toBeGreaterThan(0);

    for (const run of [1, 2]) {
      const report = await runOrderDemo({
        sql: db.sql,
        limit: ORDERS,
        concurrency: 8,
        timeoutMs: 60_000,
      });
      expect({
        run,
        completed: report.completed,
        compensated: report.compensated,
        failed: report.failed,
      }).toEqual({
        run,
        completed: counts.completed,
        compensated,
        failed: 0,
      });
      expect(report.invariants.filter((check) => !check.passed)).toEqual([]);
      expect(report.invariants.length).toBeGreaterThanOrEqual(4);

      const types = report.sample?.events.map((recorded) => recorded.event.type) ?? [];
      expect(types.slice(-4)).toEqual([
        'CompensationStarted',
        'StepCompensated',
        'StepCompensated',
        'SagaCompensated',
      ]);
    }
  });
});
