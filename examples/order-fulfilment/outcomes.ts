import type { CatalogueProduct } from './catalogue.js';
import type { OrderInput } from './order.js';
import { isDeclinedCard, isRefusedCountry } from './rules.js';

/** How one order's saga ends. */
export type OrderOutcome = 'completed' | 'out-of-stock' | 'card-declined' | 'shipment-refused';

/** How many orders end each way. */
export type OutcomeCounts = Readonly<Record<OrderOutcome, number>>;

/**
 * What the sagas of `orders` do to a shop freshly stocked with `products` when they run one after
 * another in the given order: the outcome of each order, and the counts.
 *
 * Which orders of a scarce product run out depends on the order in which they reserve, so a
 * demo that runs sagas concurrently may see other order ids fail. The counts do not change with
 * the order for the example's orders.csv: every order of a scarce product asks for the same
 * quantity, and declined cards and refused countries only appear on products stocked for every
 * order (the tests check both by predicting the file in several orders).
 */
export function predictOutcomes(
  orders: readonly OrderInput[],
  products: readonly CatalogueProduct[],
): { readonly outcomes: ReadonlyMap<string, OrderOutcome>; readonly counts: OutcomeCounts } {
  const stock = new Map(products.map((product) => [product.sku, product.initialStock]));
  const outcomes = new Map<string, OrderOutcome>();
  const counts: Record<OrderOutcome, number> = {
    completed: 0,
    'out-of-stock': 0,
    'card-declined': 0,
    'shipment-refused': 0,
  };

  for (const order of orders) {
    const available = stock.get(order.sku);
    if (available === undefined)
      throw new Error(`order ${order.orderId}: unknown SKU ${order.sku}`);
    let outcome: OrderOutcome;
    if (available < order.quantity) outcome = 'out-of-stock';
    else if (isDeclinedCard(order.cardToken)) outcome = 'card-declined';
    else if (isRefusedCountry(order.country)) outcome = 'shipment-refused';
    else outcome = 'completed';
    // Only a completed order keeps its units; the others are released when they fail.
    if (outcome === 'completed') stock.set(order.sku, available - order.quantity);
    outcomes.set(order.orderId, outcome);
    counts[outcome] += 1;
  }
  return { outcomes, counts };
}
