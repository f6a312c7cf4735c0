import * as t from 'io-ts';

import type { SqlExecutor } from '../../src/ports/sql.js';
import { decodeOrThrow } from './codecs.js';

/**
 * Checks of the shop's books that must hold whatever the sagas did, in whatever order they ran,
 * once no saga is between two steps (while one is, its order is legitimately half done: paid
 * but not yet shipped, say). Each is one SQL query that lists the offending rows.
 */

/** The names of the checks, in the order {@link checkShopInvariants} returns them. */
export type ShopCheckName =
  | 'stock-plus-reserved-equals-initial'
  | 'reserved-equals-active-reservations'
  | 'refunded-orders-net-to-zero'
  | 'refunded-orders-hold-nothing'
  | 'one-charge-per-order'
  | 'shipped-orders-are-paid-and-reserved';

/** The result of one check: whether it passed, and what was checked or what is wrong. */
export interface ShopCheck {
  readonly name: ShopCheckName;
  readonly passed: boolean;
  readonly detail: string;
}

interface CheckSpec<Row> {
  readonly name: ShopCheckName;
  /** What holds, said when it passes. */
  readonly holds: string;
  /** Lists the rows that break the check. */
  readonly query: string;
  readonly row: t.Decoder<unknown, Row>;
  readonly describe: (row: Row) => string;
}

const SHOWN_OFFENDERS = 5;

function defineCheck<Row>(spec: CheckSpec<Row>): (sql: SqlExecutor) => Promise<ShopCheck> {
  return async (sql) => {
    const result = await sql.query(spec.query);
    const offenders = result.rows.map((row) => decodeOrThrow(spec.row, row, spec.name));
    if (offenders.length === 0) return { name: spec.name, passed: true, detail: spec.holds };
    const shown = offenders.slice(0, SHOWN_OFFENDERS).map(spec.describe);
    const more =
      offenders.length > shown.length ? `; …${offenders.length - shown.length} more` : '';
    return { name: spec.name, passed: false, detail: `${shown.join('; ')}${more}` };
  };
}

const checks = [
  defineCheck({
    name: 'stock-plus-reserved-equals-initial',
    holds: 'for every product, stock + reserved = initial_stock',
    query: `SELECT sku, stock, reserved, initial_stock FROM shop_products
            WHERE stock + reserved <> initial_stock ORDER BY sku`,
    row: t.type({ sku: t.string, stock: t.number, reserved: t.number, initial_stock: t.number }),
    describe: (row) =>
      `${row.sku}: stock ${row.stock} + reserved ${row.reserved} ≠ initial ${row.initial_stock}`,
  }),
  defineCheck({
    name: 'reserved-equals-active-reservations',
    holds: "for every product, reserved = the quantities of its 'reserved' reservations",
    query: `SELECT p.sku, p.reserved,
                   COALESCE(SUM(r.quantity) FILTER (WHERE r.status = 'reserved'), 0)::int AS held
            FROM shop_products p LEFT JOIN shop_reservations r ON r.sku = p.sku
            GROUP BY p.sku, p.reserved
            HAVING p.reserved <> COALESCE(SUM(r.quantity) FILTER (WHERE r.status = 'reserved'), 0)
            ORDER BY p.sku`,
    row: t.type({ sku: t.string, reserved: t.number, held: t.number }),
    describe: (row) => `${row.sku}: reserved ${row.reserved} but reservations hold ${row.held}`,
  }),
  defineCheck({
    name: 'refunded-orders-net-to-zero',
    holds: 'every order with a refund has payments summing to zero',
    query: `SELECT order_id, SUM(amount_cents)::int AS net FROM shop_payments
            GROUP BY order_id
            HAVING bool_or(kind = 'refund') AND SUM(amount_cents) <> 0
            ORDER BY order_id`,
    row: t.type({ order_id: t.string, net: t.number }),
    describe: (row) => `${row.order_id}: payments net ${row.net} cents after a refund`,
  }),
  defineCheck({
    name: 'refunded-orders-hold-nothing',
    holds: 'no refunded order keeps an active reservation or shipment',
    query: `WITH refunded AS (SELECT DISTINCT order_id FROM shop_payments WHERE kind = 'refund')
            SELECT order_id, 'reservation' AS held, r.id FROM shop_reservations r
              JOIN refunded USING (order_id) WHERE r.status = 'reserved'
            UNION ALL
            SELECT order_id, 'shipment' AS held, s.id FROM shop_shipments s
              JOIN refunded USING (order_id) WHERE s.status = 'created'
            ORDER BY order_id, held, id`,
    row: t.type({ order_id: t.string, held: t.string, id: t.number }),
    describe: (row) => `${row.order_id}: refunded but ${row.held} ${row.id} is still active`,
  }),
  defineCheck({
    name: 'one-charge-per-order',
    holds: 'no order was charged twice',
    query: `SELECT order_id, COUNT(*)::int AS charges FROM shop_payments
            WHERE kind = 'charge' GROUP BY order_id HAVING COUNT(*) > 1 ORDER BY order_id`,
    row: t.type({ order_id: t.string, charges: t.number }),
    describe: (row) => `${row.order_id}: charged ${row.charges} times`,
  }),
  defineCheck({
    name: 'shipped-orders-are-paid-and-reserved',
    holds: 'every active shipment has an unrefunded charge and an active reservation',
    query: `SELECT s.order_id, s.id FROM shop_shipments s
            WHERE s.status = 'created' AND (
              NOT EXISTS (SELECT 1 FROM shop_payments c
                          WHERE c.order_id = s.order_id AND c.kind = 'charge'
                            AND NOT EXISTS (SELECT 1 FROM shop_payments r WHERE r.refund_of = c.id))
              OR NOT EXISTS (SELECT 1 FROM shop_reservations r
                             WHERE r.order_id = s.order_id AND r.status = 'reserved'))
            ORDER BY s.order_id`,
    row: t.type({ order_id: t.string, id: t.number }),
    describe: (row) => `${row.order_id}: shipment ${row.id} without payment or stock`,
  }),
];

/**
 * Runs every check of the shop's books and returns each with its outcome, in a fixed order.
 * Reads only; run it when no saga is between two steps.
 *
 * @example
 * const broken = (await checkShopInvariants(sql)).filter((check) => !check.passed);
 */
export async function checkShopInvariants(sql: SqlExecutor): Promise<readonly ShopCheck[]> {
  const results: ShopCheck[] = [];
  for (const check of checks) results.push(await check(sql));
  return results;
}
