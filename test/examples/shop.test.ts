import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import * as t from 'io-ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { readCatalogue } from '../../examples/order-fulfilment/catalogue.js';
import { decodeOrThrow } from '../../examples/order-fulfilment/codecs.js';
import { shopErrorCodeOf } from '../../examples/order-fulfilment/errors.js';
import { resolveExampleFile } from '../../examples/order-fulfilment/files.js';
import { generateShopFiles } from '../../examples/order-fulfilment/generate-orders.js';
import { checkShopInvariants } from '../../examples/order-fulfilment/invariants.js';
import { type OrderInput, readOrders } from '../../examples/order-fulfilment/order.js';
import { type OrderOutcome, predictOutcomes } from '../../examples/order-fulfilment/outcomes.js';
import { createOrderSaga } from '../../examples/order-fulfilment/saga.js';
import { Shop } from '../../examples/order-fulfilment/shop.js';
import type { SagaDefinition, StepContext, StepResults } from '../../src/core/definition.js';
import { SagaId } from '../../src/core/ids.js';
import { createSilentLogger } from '../../src/ports/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;
let shop: Shop;

beforeAll(async () => {
  db = await createTestDatabase();
  shop = new Shop(db.sql);
});

afterAll(async () => {
  await db.drop();
});

beforeEach(async () => {
  await shop.resetShop();
});

function createOrder(overrides: Partial<OrderInput> = {}): OrderInput {
  return {
    orderId: 'ord-test-1',
    customerEmail: 'ada.lovelace@example.com',
    sku: 'MUG-ENAMEL',
    quantity: 2,
    amountCents: 2_400,
    cardToken: 'tok_visa_0123456789',
    country: 'FR',
    ...overrides,
  };
}

/** Every row of the shop's tables, to show that a refused operation changed nothing. */
async function readBooks(): Promise<Record<string, unknown>> {
  const tables = ['shop_products', 'shop_reservations', 'shop_payments', 'shop_shipments'];
  const books: Record<string, unknown> = {};
  for (const table of tables) {
    books[table] = (await db.sql.query(`SELECT * FROM ${table} ORDER BY 1`)).rows;
  }
  return books;
}

async function readProduct(sku: string) {
  const product = (await shop.listProducts()).find((row) => row.sku === sku);
  if (product === undefined) throw new Error(`no product ${sku}`);
  return product;
}

const CountRow = t.type({ count: t.number });

async function countRows(table: string): Promise<number> {
  const result = await db.sql.query(`SELECT COUNT(*)::int AS count FROM ${table}`);
  return decodeOrThrow(CountRow, result.rows[0], table).count;
}

async function listFailingChecks(): Promise<readonly string[]> {
  return (await checkShopInvariants(db.sql))
    .filter((check) => !check.passed)
    .map((check) => check.name);
}

async function catchRejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the operation to fail');
}

describe('reserveStock and releaseStock', () => {
  it('moves units from stock to reserved once per key', async () => {
    const order = createOrder();

    const first = await shop.reserveStock(order, 'saga-1:reserve');
    const second = await shop.reserveStock(order, 'saga-1:reserve');

    expect(second).toEqual(first);
    expect(first).toMatchObject({ orderId: order.orderId, sku: 'MUG-ENAMEL', quantity: 2 });
    expect(await countRows('shop_reservations')).toBe(1);
    expect(await readProduct('MUG-ENAMEL')).toMatchObject({ stock: 118, reserved: 2 });
  });

  it('takes the stock once when two calls with one key race', async () => {
    const order = createOrder();

    const [a, b] = await Promise.all([
      shop.reserveStock(order, 'saga-1:reserve'),
      shop.reserveStock(order, 'saga-1:reserve'),
    ]);

    expect(a).toEqual(b);
    expect(await countRows('shop_reservations')).toBe(1);
    expect(await readProduct('MUG-ENAMEL')).toMatchObject({ stock: 118, reserved: 2 });
  });

  it('refuses an order larger than the stock with OUT_OF_STOCK and changes nothing', async () => {
    await shop.reserveStock(createOrder({ orderId: 'a', sku: 'LAMP-BRASS', quantity: 10 }), 'k1');
    const before = await readBooks();

    const error = await catchRejection(
      shop.reserveStock(createOrder({ orderId: 'b', sku: 'LAMP-BRASS', quantity: 7 }), 'k2'),
    );

    expect(shopErrorCodeOf(error)).toBe('OUT_OF_STOCK');
    expect(error).toMatchObject({ retryable: false, details: { requested: 7, available: 6 } });
    expect(await readBooks()).toEqual(before);
  });

  it('lets a key that ran out of stock reserve later, once stock is back', async () => {
    const big = createOrder({ orderId: 'big', sku: 'LAMP-BRASS', quantity: 16 });
    const held = await shop.reserveStock(big, 'k-big');
    const small = createOrder({ orderId: 'small', sku: 'LAMP-BRASS', quantity: 1 });
    expect(shopErrorCodeOf(await catchRejection(shop.reserveStock(small, 'k-small')))).toBe(
      'OUT_OF_STOCK',
    );

    await shop.releaseStock(held, 'k-big');

    expect(await shop.reserveStock(small, 'k-small')).toMatchObject({ quantity: 1 });
  });

  it('refuses a key reused for another order line and an unknown SKU', async () => {
    await shop.reserveStock(createOrder(), 'k');

    const reused = await catchRejection(shop.reserveStock(createOrder({ quantity: 3 }), 'k'));
    const unknown = await catchRejection(shop.reserveStock(createOrder({ sku: 'NOPE' }), 'k2'));

    expect(shopErrorCodeOf(reused)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(shopErrorCodeOf(unknown)).toBe('UNKNOWN_PRODUCT');
    expect(await readProduct('MUG-ENAMEL')).toMatchObject({ stock: 118, reserved: 2 });
  });

  it('releases a reservation once, however often it is asked', async () => {
    const reservation = await shop.reserveStock(createOrder(), 'saga-1:reserve');

    const first = await shop.releaseStock(reservation, 'saga-1:reserve');
    const again = await shop.releaseStock(reservation, 'saga-1:reserve');
    const otherKey = await shop.releaseStock(reservation, 'another-key');

    expect([first, again, otherKey]).toEqual(['undone', 'already-undone', 'already-undone']);
    expect(await readProduct('MUG-ENAMEL')).toMatchObject({ stock: 120, reserved: 0 });
  });

  it('refuses to release a reservation that does not exist', async () => {
    const missing = { reservationId: 99, orderId: 'x', sku: 'MUG-ENAMEL', quantity: 1 };

    expect(shopErrorCodeOf(await catchRejection(shop.releaseStock(missing, 'k')))).toBe(
      'NOT_FOUND',
    );
  });
});

describe('chargeCard and refundPayment', () => {
  it('charges once per key', async () => {
    const order = createOrder();

    const first = await shop.chargeCard(order, 'saga-1:charge');
    const second = await shop.chargeCard(order, 'saga-1:charge');

    expect(second).toEqual(first);
    expect(first).toMatchObject({ orderId: order.orderId, amountCents: 2_400 });
    expect(await countRows('shop_payments')).toBe(1);
  });

  it('refuses a declined card with CARD_DECLINED and records nothing', async () => {
    const before = await readBooks();

    const error = await catchRejection(
      shop.chargeCard(createOrder({ cardToken: 'tok_declined_0000' }), 'saga-1:charge'),
    );

    expect(shopErrorCodeOf(error)).toBe('CARD_DECLINED');
    expect(error).toMatchObject({ retryable: false });
    expect(await readBooks()).toEqual(before);
  });

  it('refunds with the charge key, once per charge', async () => {
    // The engine gives a compensation the key of the step it undoes: charge and refund share it.
    const payment = await shop.chargeCard(createOrder(), 'saga-1:charge');

    const first = await shop.refundPayment(payment, 'saga-1:charge');
    const again = await shop.refundPayment(payment, 'saga-1:charge');
    const otherKey = await shop.refundPayment(payment, 'operator-refund');

    expect(again).toEqual(first);
    expect(otherKey).toEqual(first);
    expect(first).toMatchObject({ paymentId: payment.paymentId, amountCents: -2_400 });
    const net = await db.sql.query('SELECT SUM(amount_cents)::int AS count FROM shop_payments');
    expect(decodeOrThrow(CountRow, net.rows[0], 'net').count).toBe(0);
    expect(await countRows('shop_payments')).toBe(2);
  });

  it('refuses a refund key already used for another charge', async () => {
    const a = await shop.chargeCard(createOrder({ orderId: 'a' }), 'ka');
    const b = await shop.chargeCard(createOrder({ orderId: 'b' }), 'kb');
    await shop.refundPayment(a, 'refund');

    const error = await catchRejection(shop.refundPayment(b, 'refund'));

    expect(shopErrorCodeOf(error)).toBe('IDEMPOTENCY_KEY_REUSED');
  });
});

describe('createShipment and cancelShipment', () => {
  it('books one parcel per key and cancels it once', async () => {
    const order = createOrder();

    const first = await shop.createShipment(order, 'saga-1:ship');
    const second = await shop.createShipment(order, 'saga-1:ship');
    const cancelled = await shop.cancelShipment(first, 'saga-1:ship');
    const again = await shop.cancelShipment(first, 'saga-1:ship');

    expect(second).toEqual(first);
    expect([cancelled, again]).toEqual(['undone', 'already-undone']);
    expect(await countRows('shop_shipments')).toBe(1);
  });

  it('refuses a country the carrier does not serve with SHIPMENT_REFUSED', async () => {
    const before = await readBooks();

    const error = await catchRejection(shop.createShipment(createOrder({ country: 'AQ' }), 'k'));

    expect(shopErrorCodeOf(error)).toBe('SHIPMENT_REFUSED');
    expect(error).toMatchObject({ retryable: false });
    expect(await readBooks()).toEqual(before);
  });
});

describe('checkShopInvariants', () => {
  /** A completed order, a refunded and released one, and a released reservation. */
  async function runMixOfOperations() {
    await shop.reserveStock(createOrder({ orderId: 'done' }), 'done:reserve');
    await shop.chargeCard(createOrder({ orderId: 'done' }), 'done:charge');
    await shop.createShipment(createOrder({ orderId: 'done' }), 'done:ship');

    const order = createOrder({ orderId: 'undone', sku: 'LAMP-BRASS', amountCents: 8_900 });
    const reservation = await shop.reserveStock({ ...order, quantity: 1 }, 'undone:reserve');
    const payment = await shop.chargeCard(order, 'undone:charge');
    await shop.refundPayment(payment, 'undone:charge');
    await shop.releaseStock(reservation, 'undone:reserve');
    return { reservation };
  }

  it('passes every check after a mix of operations and undos', async () => {
    await runMixOfOperations();

    const checks = await checkShopInvariants(db.sql);

    expect(checks.map((check) => [check.name, check.passed])).toEqual([
      ['stock-plus-reserved-equals-initial', true],
      ['reserved-equals-active-reservations', true],
      ['refunded-orders-net-to-zero', true],
      ['refunded-orders-hold-nothing', true],
      ['one-charge-per-order', true],
      ['shipped-orders-are-paid-and-reserved', true],
    ]);
  });

  it('detects stock that went missing', async () => {
    await runMixOfOperations();
    await db.sql.query("UPDATE shop_products SET stock = stock - 1 WHERE sku = 'MUG-ENAMEL'");

    const checks = await checkShopInvariants(db.sql);

    expect(checks.filter((check) => !check.passed)).toEqual([
      {
        name: 'stock-plus-reserved-equals-initial',
        passed: false,
        detail: 'MUG-ENAMEL: stock 117 + reserved 2 ≠ initial 120',
      },
    ]);
  });

  it('detects a reservation released without putting its units back', async () => {
    await runMixOfOperations();
    await db.sql.query(
      `UPDATE shop_reservations SET status = 'released', released_at = now()
       WHERE order_id = 'done'`,
    );

    expect(await listFailingChecks()).toEqual([
      'reserved-equals-active-reservations',
      'shipped-orders-are-paid-and-reserved',
    ]);
  });

  it('detects a partial refund', async () => {
    await runMixOfOperations();
    await db.sql.query("UPDATE shop_payments SET amount_cents = -100 WHERE kind = 'refund'");

    expect(await listFailingChecks()).toEqual(['refunded-orders-net-to-zero']);
  });

  it('detects a refunded order that still holds stock and a parcel', async () => {
    const { reservation } = await runMixOfOperations();
    await db.sql.query(
      `UPDATE shop_reservations SET status = 'reserved', released_at = NULL WHERE id = $1`,
      [reservation.reservationId],
    );
    await db.sql.query(
      `UPDATE shop_products SET stock = stock - 1, reserved = reserved + 1
       WHERE sku = 'LAMP-BRASS'`,
    );
    await db.sql.query(
      `INSERT INTO shop_shipments (order_id, country, idempotency_key)
       VALUES ('undone', 'FR', 'x')`,
    );

    expect(await listFailingChecks()).toEqual([
      'refunded-orders-hold-nothing',
      'shipped-orders-are-paid-and-reserved',
    ]);
  });

  it('detects an order charged twice', async () => {
    await runMixOfOperations();
    await db.sql.query(
      `INSERT INTO shop_payments (order_id, kind, amount_cents, idempotency_key)
       VALUES ('done', 'charge', 2400, 'another-key')`,
    );

    expect(await listFailingChecks()).toEqual(['one-charge-per-order']);
  });
});

describe('readOrders', () => {
  it('reads the 240 committed orders in file order', async () => {
    const orders = await readOrders(resolveExampleFile('orders.csv'));

    expect(orders).toHaveLength(240);
    expect(orders[0]?.orderId).toBe('ord-0001');
    expect(new Set(orders.map((order) => order.orderId)).size).toBe(240);
  });

  it('rejects bad records naming file, line and field', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'rewind-orders-'));
    const path = join(folder, 'orders.csv');
    await writeFile(
      path,
      [
        'order_id,customer_email,sku,quantity,amount_cents,card_token,country',
        'o1,ada@example.com,MUG-ENAMEL,1,1200,tok_visa_1,FR',
        'o2,ada@example.com,MUG-ENAMEL,0,1200,tok_visa_2,FR',
        'o3,not-an-email,MUG-ENAMEL,1,12.5,tok_visa_3,FR',
        'o1,ada@example.com,MUG-ENAMEL,1,1200,tok_visa_4',
        '',
      ].join('\n'),
    );

    try {
      const error = await catchRejection(readOrders(path));

      expect(error).toMatchObject({ code: 'CSV_INVALID', retryable: false });
      expect(error).toHaveProperty('problems', [
        { file: path, line: 3, field: 'quantity', message: 'expected a positive integer, got 0' },
        {
          file: path,
          line: 4,
          field: 'customer_email',
          message: 'expected an e-mail address, got "not-an-email"',
        },
        {
          file: path,
          line: 4,
          field: 'amount_cents',
          message: 'expected a positive integer in decimal digits, got "12.5"',
        },
        { file: path, line: 5, field: null, message: 'expected 7 fields, got 6' },
      ]);
      expect(String(error)).toContain(`${path}:3:quantity: expected a positive integer, got 0`);
    } finally {
      await rm(folder, { recursive: true });
    }
  });

  it('rejects an order id that appears twice', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'rewind-orders-'));
    const path = join(folder, 'orders.csv');
    const line = 'o1,ada@example.com,MUG-ENAMEL,1,1200,tok_visa_1,FR';
    await writeFile(
      path,
      `order_id,customer_email,sku,quantity,amount_cents,card_token,country\n${line}\n${line}\n`,
    );

    try {
      const error = await catchRejection(readOrders(path));

      expect(String(error)).toContain(`${path}:3:order_id: duplicate of line 2`);
    } finally {
      await rm(folder, { recursive: true });
    }
  });

  it('rejects a file that holds no orders, a header alone', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'rewind-orders-'));
    const path = join(folder, 'orders.csv');
    await writeFile(path, 'order_id,customer_email,sku,quantity,amount_cents,card_token,country\n');

    try {
      const error = await catchRejection(readOrders(path));

      expect(String(error)).toContain(`${path}:1: holds no orders`);
    } finally {
      await rm(folder, { recursive: true });
    }
  });
});

describe('the committed input', () => {
  it('is what generate-orders.ts writes for its default seed', async () => {
    const files = generateShopFiles();

    expect(await readFile(resolveExampleFile('orders.csv'), 'utf8')).toBe(files.ordersCsv);
    expect(await readFile(resolveExampleFile('catalogue.csv'), 'utf8')).toBe(files.catalogueCsv);
  });

  it('ends in the same counts of outcomes whatever order the orders run in', async () => {
    const orders = await readOrders(resolveExampleFile('orders.csv'));
    const products = await readCatalogue(resolveExampleFile('catalogue.csv'));
    const expected = {
      completed: 185,
      'out-of-stock': 24,
      'card-declined': 19,
      'shipment-refused': 12,
    };

    expect(predictOutcomes(orders, products).counts).toEqual(expected);
    fc.assert(
      fc.property(fc.shuffledSubarray([...orders], { minLength: orders.length }), (shuffled) => {
        expect(predictOutcomes(shuffled, products).counts).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });
});

describe('the order saga, its steps run by hand', () => {
  const actor = { id: 'test-runner' };

  function createStepContext(sagaId: string, step: string): StepContext {
    return {
      sagaId: decodeOrThrow(SagaId, sagaId, 'saga id'),
      saga: 'order-fulfilment',
      step,
      attempt: 1,
      // As the engine derives it: one key per saga and step, the same for its compensation.
      idempotencyKey: `${sagaId}:${step}`,
      actor,
      correlationId: sagaId,
      logger: createSilentLogger(),
      signal: new AbortController().signal,
      halt: (reason) => {
        throw new Error(`the order saga does not halt (${reason})`);
      },
    };
  }

  // The order saga's steps read no results (`after` only orders them), so none are recorded.
  const results: StepResults = {
    get: (step) => {
      throw new Error(`no result recorded for ${step.name}`);
    },
  };

  /**
   * Runs the steps in their declared order (the order saga is a chain); when one throws, undoes
   * the completed ones newest first, as the engine's compensation plan does.
   */
  async function runByHand(
    saga: SagaDefinition<OrderInput>,
    order: OrderInput,
  ): Promise<{ readonly failedStep: string | null; readonly code: string | undefined }> {
    const sagaId = `saga-${order.orderId}`;
    const completed: { readonly step: string; readonly output: unknown }[] = [];
    for (const step of saga.steps) {
      const { body } = step;
      if (body.kind !== 'task') throw new Error(`step ${step.name} is not a task`);
      try {
        const output = await body.run(
          { input: order, results },
          createStepContext(sagaId, step.name),
        );
        completed.push({ step: step.name, output });
      } catch (error) {
        for (const done of completed.reverse()) {
          const context = createStepContext(sagaId, done.step);
          const ctx = { ...context, input: order, stepIdempotencyKey: context.idempotencyKey };
          const undone = saga.stepNamed(done.step)?.body;
          if (undone?.kind === 'task') await undone.compensate?.(done.output, ctx);
        }
        return { failedStep: step.name, code: shopErrorCodeOf(error) };
      }
    }
    return { failedStep: null, code: undefined };
  }

  it('defines reserve, charge and ship as a chain, each with its undo', () => {
    const saga = createOrderSaga(shop);

    expect(
      saga.steps.map((step) => [
        step.name,
        step.dependsOn,
        step.body.kind === 'task' && step.body.compensate !== undefined,
      ]),
    ).toEqual([
      ['reserve', [], true],
      ['charge', ['reserve'], true],
      ['ship', ['charge'], true],
    ]);
  });

  it('releases the stock of an order whose card is declined, keeping the books true', async () => {
    const saga = createOrderSaga(shop);
    const order = createOrder({ orderId: 'declined', cardToken: 'tok_declined_42' });

    const outcome = await runByHand(saga, order);

    expect(outcome).toEqual({ failedStep: 'charge', code: 'CARD_DECLINED' });
    expect(await readProduct('MUG-ENAMEL')).toMatchObject({ stock: 120, reserved: 0 });
    expect(await countRows('shop_payments')).toBe(0);
    expect(await listFailingChecks()).toEqual([]);
  });

  it('refunds and releases an order the carrier refuses, keeping the books true', async () => {
    const saga = createOrderSaga(shop);
    const order = createOrder({ orderId: 'refused', country: 'BV' });

    const outcome = await runByHand(saga, order);

    expect(outcome).toEqual({ failedStep: 'ship', code: 'SHIPMENT_REFUSED' });
    expect(await readProduct('MUG-ENAMEL')).toMatchObject({ stock: 120, reserved: 0 });
    expect(await countRows('shop_payments')).toBe(2);
    expect(await countRows('shop_shipments')).toBe(0);
    expect(await listFailingChecks()).toEqual([]);
  });

  it('runs every order of orders.csv at once and ends with the predicted counts', async () => {
    const saga = createOrderSaga(shop);
    const orders = await readOrders(resolveExampleFile('orders.csv'));
    const products = await readCatalogue(resolveExampleFile('catalogue.csv'));
    const codes: Record<string, OrderOutcome> = {
      OUT_OF_STOCK: 'out-of-stock',
      CARD_DECLINED: 'card-declined',
      SHIPMENT_REFUSED: 'shipment-refused',
    };

    const outcomes = await Promise.all(orders.map((order) => runByHand(saga, order)));

    const counts = { completed: 0, 'out-of-stock': 0, 'card-declined': 0, 'shipment-refused': 0 };
    for (const { failedStep, code } of outcomes) {
      const outcome = failedStep === null ? 'completed' : codes[code ?? ''];
      if (outcome === undefined) throw new Error(`unexpected failure ${code} in ${failedStep}`);
      counts[outcome] += 1;
    }
    expect(counts).toEqual(predictOutcomes(orders, products).counts);
    expect(await listFailingChecks()).toEqual([]);
    expect(await readProduct('LAMP-BRASS')).toMatchObject({ stock: 0, reserved: 16 });
    expect(await readProduct('KETTLE-COPPER')).toMatchObject({ stock: 0, reserved: 20 });
  });
});
