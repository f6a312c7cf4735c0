import { readFile } from 'node:fs/promises';

import type * as t from 'io-ts';

import type { SqlClient, SqlExecutor, SqlResult } from '../../src/ports/sql.js';
import { type CatalogueProduct, readCatalogue } from './catalogue.js';
import { decodeOrThrow } from './codecs.js';
import {
  CardDeclinedError,
  IdempotencyKeyReusedError,
  OutOfStockError,
  ShipmentRefusedError,
  ShopError,
} from './errors.js';
import { resolveExampleFile } from './files.js';
import type { OrderInput } from './order.js';
import { isDeclinedCard, isRefusedCountry } from './rules.js';
import {
  type Payment,
  PaymentRow,
  ProductRow,
  type Refund,
  type Reservation,
  ReservationRow,
  type Shipment,
  ShipmentRow,
  type UndoOutcome,
} from './shop-records.js';

/**
 * The example shop: a warehouse, a payment provider and a carrier, all kept in the `shop_` tables
 * of shop-schema.sql so that one database holds the saga events and the effects they caused.
 *
 * Every operation takes the idempotency key of the step that calls it and is safe to repeat with
 * that key: the first call makes the change, a repeat returns what the first made and changes
 * nothing, and so does a call racing the first (the unique key index makes the second insert
 * wait for the first and then find its row). The undos (release, refund, cancel) are idempotent
 * on the row they undo as well, whatever key they come with.
 *
 * Stock model (see shop-schema.sql): units are on the shelf (`stock`) or committed by an active
 * reservation (`reserved`). Shipping does not touch stock — a completed order's units stay in
 * `reserved` — so `stock + reserved = initial_stock` holds for every product at all times, and
 * `reserved` equals the quantities of the product's active reservations.
 */
export class Shop {
  constructor(private readonly sql: SqlClient) {}

  /**
   * Drops and recreates the shop's tables and loads the catalogue, so that each demo run starts
   * from the same shelves. Default catalogue: the example's `catalogue.csv`.
   */
  async resetShop(products?: readonly CatalogueProduct[]): Promise<void> {
    const schema = await readFile(resolveExampleFile('shop-schema.sql'), 'utf8');
    const catalogue = products ?? (await readCatalogue(resolveExampleFile('catalogue.csv')));
    await this.sql.transaction(async (tx) => {
      await tx.exec(schema);
      for (const product of catalogue) {
        await tx.query(
          `INSERT INTO shop_products (sku, name, price_cents, initial_stock, stock)
           VALUES ($1, $2, $3, $4, $4)`,
          [product.sku, product.name, product.priceCents, product.initialStock],
        );
      }
    });
  }

  /** Every product with its current counts, by SKU. */
  async listProducts(): Promise<readonly ProductRow[]> {
    const result = await this.sql.query(
      `SELECT sku, name, price_cents, initial_stock, stock, reserved
       FROM shop_products ORDER BY sku`,
    );
    return result.rows.map((row) => decodeOrThrow(ProductRow, row, 'shop_products row'));
  }

  /**
   * Takes `order.quantity` units of `order.sku` off the shelf for the order, in one transaction.
   * A repeat with the same key returns the first reservation, even one released since, and takes
   * nothing.
   *
   * @throws OutOfStockError (`OUT_OF_STOCK`) when fewer units are on the shelf; nothing changes.
   * @throws ShopError (`UNKNOWN_PRODUCT`) for a SKU the catalogue does not have.
   * @throws IdempotencyKeyReusedError when `key` already reserved for another order line.
   */
  async reserveStock(
    order: Pick<OrderInput, 'orderId' | 'sku' | 'quantity'>,
    key: string,
  ): Promise<Reservation> {
    return this.sql.transaction(async (tx) => {
      await lockProduct(tx, order);

      // The product lock makes a concurrent call with the same key wait for this transaction;
      // its insert then finds the committed row and it returns that reservation instead of
      // taking the stock a second time. A rollback (out of stock) frees the key again.
      const inserted = await tx.query(
        `INSERT INTO shop_reservations (order_id, sku, quantity, idempotency_key)
         VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id, order_id, sku, quantity, status`,
        [order.orderId, order.sku, order.quantity, key],
      );
      const row = firstRow(ReservationRow, inserted, 'shop_reservations row');
      if (row === undefined) return findReservation(tx, order, key);

      const taken = await tx.query(
        `UPDATE shop_products SET stock = stock - $2, reserved = reserved + $2
         WHERE sku = $1 AND stock >= $2`,
        [order.sku, order.quantity],
      );
      if (taken.rowCount === 0) throw await outOfStock(tx, order);
      return toReservation(row);
    });
  }

  /**
   * Puts a reservation's units back on the shelf, once: a reservation already released is left
   * as it is. The units and SKU are taken from the stored row, not from `reservation`.
   */
  async releaseStock(reservation: Reservation, key: string): Promise<UndoOutcome> {
    return this.sql.transaction(async (tx) => {
      const released = await tx.query(
        `UPDATE shop_reservations SET status = 'released', release_key = $3, released_at = now()
         WHERE id = $1 AND order_id = $2 AND status = 'reserved'
         RETURNING id, order_id, sku, quantity, status`,
        [reservation.reservationId, reservation.orderId, key],
      );
      const row = firstRow(ReservationRow, released, 'shop_reservations row');
      if (row === undefined) {
        await requireRow(tx, 'shop_reservations', reservation.reservationId, reservation.orderId);
        return 'already-undone';
      }
      await tx.query(
        `UPDATE shop_products SET stock = stock + $2, reserved = reserved - $2 WHERE sku = $1`,
        [row.sku, row.quantity],
      );
      return 'undone';
    });
  }

  /**
   * Charges the order's amount to its card.
   *
   * @throws CardDeclinedError (`CARD_DECLINED`) for a declined token; nothing is recorded.
   * @throws IdempotencyKeyReusedError when `key` already charged another order or amount.
   */
  async chargeCard(
    order: Pick<OrderInput, 'orderId' | 'amountCents' | 'cardToken'>,
    key: string,
  ): Promise<Payment> {
    if (isDeclinedCard(order.cardToken)) {
      throw new CardDeclinedError({ orderId: order.orderId, amountCents: order.amountCents });
    }
    const inserted = await this.sql.query(
      `INSERT INTO shop_payments (order_id, kind, amount_cents, idempotency_key)
       VALUES ($1, 'charge', $2, $3) ON CONFLICT (kind, idempotency_key) DO NOTHING
       RETURNING id, order_id, kind, amount_cents, refund_of`,
      [order.orderId, order.amountCents, key],
    );
    const row =
      firstRow(PaymentRow, inserted, 'shop_payments row') ??
      (await findPayment(this.sql, 'charge', key));
    if (
      row === undefined ||
      row.order_id !== order.orderId ||
      row.amount_cents !== order.amountCents
    ) {
      throw new IdempotencyKeyReusedError({ key, operation: 'chargeCard', orderId: order.orderId });
    }
    return { paymentId: row.id, orderId: row.order_id, amountCents: row.amount_cents };
  }

  /**
   * Refunds a charge in full by recording a negative payment, once per charge: a repeat returns
   * the refund already made. The amount is the stored charge's, not `payment.amountCents`.
   */
  async refundPayment(payment: Payment, key: string): Promise<Refund> {
    const inserted = await this.sql.query(
      `INSERT INTO shop_payments (order_id, kind, amount_cents, refund_of, idempotency_key)
       SELECT order_id, 'refund', -amount_cents, id, $3 FROM shop_payments
       WHERE id = $1 AND order_id = $2 AND kind = 'charge'
       ON CONFLICT DO NOTHING
       RETURNING id, order_id, kind, amount_cents, refund_of`,
      [payment.paymentId, payment.orderId, key],
    );
    const row =
      firstRow(PaymentRow, inserted, 'shop_payments row') ??
      (await findRefundOf(this.sql, payment));
    if (row === undefined) {
      // Nothing inserted and no refund of this charge: the key belongs to another refund, or
      // the charge does not exist.
      const other = await findPayment(this.sql, 'refund', key);
      if (other !== undefined) {
        throw new IdempotencyKeyReusedError({
          key,
          operation: 'refundPayment',
          orderId: payment.orderId,
        });
      }
      throw notFound('shop_payments', payment.paymentId, payment.orderId);
    }
    return {
      refundId: row.id,
      paymentId: payment.paymentId,
      orderId: row.order_id,
      amountCents: row.amount_cents,
    };
  }

  /**
   * Books a parcel with the carrier for the order's country.
   *
   * @throws ShipmentRefusedError (`SHIPMENT_REFUSED`) for a country the carrier does not serve.
   * @throws IdempotencyKeyReusedError when `key` already booked a parcel for another order.
   */
  async createShipment(
    order: Pick<OrderInput, 'orderId' | 'country'>,
    key: string,
  ): Promise<Shipment> {
    if (isRefusedCountry(order.country)) {
      throw new ShipmentRefusedError({ orderId: order.orderId, country: order.country });
    }
    const inserted = await this.sql.query(
      `INSERT INTO shop_shipments (order_id, country, idempotency_key)
       VALUES ($1, $2, $3) ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING id, order_id, country, status`,
      [order.orderId, order.country, key],
    );
    const row =
      firstRow(ShipmentRow, inserted, 'shop_shipments row') ??
      firstRow(
        ShipmentRow,
        await this.sql.query(
          'SELECT id, order_id, country, status FROM shop_shipments WHERE idempotency_key = $1',
          [key],
        ),
        'shop_shipments row',
      );
    if (row === undefined || row.order_id !== order.orderId || row.country !== order.country) {
      throw new IdempotencyKeyReusedError({
        key,
        operation: 'createShipment',
        orderId: order.orderId,
      });
    }
    return { shipmentId: row.id, orderId: row.order_id, country: order.country };
  }

  /** Cancels a parcel with the carrier, once: a cancelled shipment is left as it is. */
  async cancelShipment(shipment: Shipment, key: string): Promise<UndoOutcome> {
    const cancelled = await this.sql.query(
      `UPDATE shop_shipments SET status = 'cancelled', cancel_key = $3, cancelled_at = now()
       WHERE id = $1 AND order_id = $2 AND status = 'created'`,
      [shipment.shipmentId, shipment.orderId, key],
    );
    if (cancelled.rowCount > 0) return 'undone';
    await requireRow(this.sql, 'shop_shipments', shipment.shipmentId, shipment.orderId);
    return 'already-undone';
  }
}

function firstRow<Row>(
  codec: t.Decoder<unknown, Row>,
  result: SqlResult,
  what: string,
): Row | undefined {
  const row = result.rows[0];
  return row === undefined ? undefined : decodeOrThrow(codec, row, what);
}

function toReservation(row: ReservationRow): Reservation {
  return { reservationId: row.id, orderId: row.order_id, sku: row.sku, quantity: row.quantity };
}

/** Locks the product row for the rest of the transaction, or throws for an unknown SKU. */
async function lockProduct(tx: SqlExecutor, order: Pick<OrderInput, 'orderId' | 'sku'>) {
  const product = await tx.query('SELECT sku FROM shop_products WHERE sku = $1 FOR UPDATE', [
    order.sku,
  ]);
  if (product.rows.length === 0) {
    const details = { orderId: order.orderId, sku: order.sku };
    throw new ShopError('UNKNOWN_PRODUCT', `the catalogue has no product ${order.sku}`, details);
  }
}

async function findReservation(
  tx: SqlExecutor,
  order: Pick<OrderInput, 'orderId' | 'sku' | 'quantity'>,
  key: string,
): Promise<Reservation> {
  const existing = await tx.query(
    `SELECT id, order_id, sku, quantity, status FROM shop_reservations
     WHERE idempotency_key = $1`,
    [key],
  );
  const row = firstRow(ReservationRow, existing, 'shop_reservations row');
  const same =
    row?.order_id === order.orderId && row.sku === order.sku && row.quantity === order.quantity;
  if (row === undefined || !same) {
    throw new IdempotencyKeyReusedError({ key, operation: 'reserveStock', orderId: order.orderId });
  }
  return toReservation(row);
}

async function outOfStock(
  tx: SqlExecutor,
  order: Pick<OrderInput, 'orderId' | 'sku' | 'quantity'>,
): Promise<OutOfStockError> {
  const result = await tx.query(
    `SELECT sku, name, price_cents, initial_stock, stock, reserved
     FROM shop_products WHERE sku = $1`,
    [order.sku],
  );
  const product = firstRow(ProductRow, result, 'shop_products row');
  return new OutOfStockError({
    orderId: order.orderId,
    sku: order.sku,
    requested: order.quantity,
    available: product?.stock ?? 0,
  });
}

async function findPayment(
  sql: SqlExecutor,
  kind: 'charge' | 'refund',
  key: string,
): Promise<PaymentRow | undefined> {
  const result = await sql.query(
    `SELECT id, order_id, kind, amount_cents, refund_of FROM shop_payments
     WHERE kind = $1 AND idempotency_key = $2`,
    [kind, key],
  );
  return firstRow(PaymentRow, result, 'shop_payments row');
}

async function findRefundOf(sql: SqlExecutor, payment: Payment): Promise<PaymentRow | undefined> {
  const result = await sql.query(
    `SELECT id, order_id, kind, amount_cents, refund_of FROM shop_payments
     WHERE refund_of = $1 AND order_id = $2`,
    [payment.paymentId, payment.orderId],
  );
  return firstRow(PaymentRow, result, 'shop_payments row');
}

function notFound(table: string, id: number, orderId: string): ShopError {
  return new ShopError('NOT_FOUND', `${table} has no row ${id} of order ${orderId}`, {
    table,
    id,
    orderId,
  });
}

/** Throws NOT_FOUND unless the table has the row of that id and order. */
async function requireRow(
  sql: SqlExecutor,
  table: 'shop_reservations' | 'shop_shipments',
  id: number,
  orderId: string,
): Promise<void> {
  const result = await sql.query(`SELECT id FROM ${table} WHERE id = $1 AND order_id = $2`, [
    id,
    orderId,
  ]);
  if (result.rows.length === 0) throw notFound(table, id, orderId);
}
