import { defineSaga, type SagaDefinition } from '../../src/core/definition.js';
import { OrderInput } from './order.js';
import type { Shop } from './shop.js';

/** The name under which the order saga is registered and recorded. */
export const ORDER_SAGA_NAME = 'order-fulfilment';

/**
 * Attempts of each step. The shop marks its refusals (out of stock, card declined, country not
 * served) `retryable: false`, so only transient faults such as a lost connection are retried.
 */
const RETRY = { maxAttempts: 3, initialDelayMs: 200 };

/**
 * The order-fulfilment saga over `shop`: reserve the stock, charge the card, then book the
 * parcel; each step undone by its compensation (release, refund, cancel) if a later one fails
 * for good. Every call passes the step's idempotency key, so a retried or in-doubt attempt
 * finds what the first attempt did instead of doing it twice.
 *
 * Outcomes: a card declined releases the stock; a country the carrier refuses refunds the
 * charge and then releases the stock; out of stock fails the first step, so nothing is undone.
 *
 * @example
 * const shop = new Shop(sql);
 * await shop.resetShop();
 * const saga = createOrderSaga(shop);
 * const orders = await readOrders(resolveExampleFile('orders.csv'));
 * // register `saga` with the engine and start one saga per order; once all have ended:
 * const failed = (await checkShopInvariants(sql)).filter((check) => !check.passed);
 */
export function createOrderSaga(shop: Shop): SagaDefinition<OrderInput> {
  return defineSaga({
    name: ORDER_SAGA_NAME,
    version: 1,
    input: OrderInput,
    steps: (step) => {
      const reserve = step('reserve', {
        retry: RETRY,
        run: async ({ input }, ctx) => {
          ctx.signal.throwIfAborted();
          const reservation = await shop.reserveStock(input, ctx.idempotencyKey);
          ctx.logger.debug({ reservationId: reservation.reservationId }, 'stock reserved');
          return reservation;
        },
        compensate: async (reservation, ctx) => {
          const outcome = await shop.releaseStock(reservation, ctx.idempotencyKey);
          ctx.logger.debug({ reservationId: reservation.reservationId, outcome }, 'stock released');
        },
      });

      const charge = step('charge', {
        after: [reserve],
        retry: RETRY,
        run: async ({ input }, ctx) => {
          ctx.signal.throwIfAborted();
          const payment = await shop.chargeCard(input, ctx.idempotencyKey);
          ctx.logger.debug({ paymentId: payment.paymentId }, 'card charged');
          return payment;
        },
        compensate: async (payment, ctx) => {
          const refund = await shop.refundPayment(payment, ctx.idempotencyKey);
          ctx.logger.debug({ paymentId: payment.paymentId, refundId: refund.refundId }, 'refunded');
        },
      });

      const ship = step('ship', {
        after: [charge],
        retry: RETRY,
        run: async ({ input }, ctx) => {
          ctx.signal.throwIfAborted();
          const shipment = await shop.createShipment(input, ctx.idempotencyKey);
          ctx.logger.debug({ shipmentId: shipment.shipmentId }, 'shipment created');
          return shipment;
        },
        compensate: async (shipment, ctx) => {
          const outcome = await shop.cancelShipment(shipment, ctx.idempotencyKey);
          ctx.logger.debug({ shipmentId: shipment.shipmentId, outcome }, 'shipment cancelled');
        },
      });

      return [reserve, charge, ship];
    },
  });
}
