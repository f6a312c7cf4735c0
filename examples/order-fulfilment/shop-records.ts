import * as t from 'io-ts';

import { CountryCode, NonEmptyString, PositiveInteger, Sku } from './codecs.js';

/**
 * What the shop's operations return (plain JSON-able objects, so that they can be recorded as
 * step outputs) and the codecs of the rows they read back.
 */

/** Units of one product held for one order; the output of the `reserve` step. */
export const Reservation = t.type(
  { reservationId: PositiveInteger, orderId: NonEmptyString, sku: Sku, quantity: PositiveInteger },
  'Reservation',
);
export type Reservation = t.TypeOf<typeof Reservation>;

/** A card charge; the output of the `charge` step. */
export const Payment = t.type(
  { paymentId: PositiveInteger, orderId: NonEmptyString, amountCents: PositiveInteger },
  'Payment',
);
export type Payment = t.TypeOf<typeof Payment>;

/** The refund of a charge; `amountCents` is negative. */
export const Refund = t.type(
  {
    refundId: PositiveInteger,
    paymentId: PositiveInteger,
    orderId: NonEmptyString,
    amountCents: t.number,
  },
  'Refund',
);
export type Refund = t.TypeOf<typeof Refund>;

/** A parcel booked with the carrier; the output of the `ship` step. */
export const Shipment = t.type(
  { shipmentId: PositiveInteger, orderId: NonEmptyString, country: CountryCode },
  'Shipment',
);
export type Shipment = t.TypeOf<typeof Shipment>;

/** What an undo did: changed the row, or found it already undone (a retried compensation). */
export type UndoOutcome = 'undone' | 'already-undone';

/** A row of shop_reservations. */
export const ReservationRow = t.type(
  {
    id: t.number,
    order_id: t.string,
    sku: t.string,
    quantity: t.number,
    status: t.keyof({ reserved: null, released: null }),
  },
  'ReservationRow',
);
export type ReservationRow = t.TypeOf<typeof ReservationRow>;

/** A row of shop_payments. */
export const PaymentRow = t.type(
  {
    id: t.number,
    order_id: t.string,
    kind: t.keyof({ charge: null, refund: null }),
    amount_cents: t.number,
    refund_of: t.union([t.number, t.null]),
  },
  'PaymentRow',
);
export type PaymentRow = t.TypeOf<typeof PaymentRow>;

/** A row of shop_shipments. */
export const ShipmentRow = t.type(
  {
    id: t.number,
    order_id: t.string,
    country: t.string,
    status: t.keyof({ created: null, cancelled: null }),
  },
  'ShipmentRow',
);
export type ShipmentRow = t.TypeOf<typeof ShipmentRow>;

/** A row of shop_products. */
export const ProductRow = t.type(
  {
    sku: t.string,
    name: t.string,
    price_cents: t.number,
    initial_stock: t.number,
    stock: t.number,
    reserved: t.number,
  },
  'ProductRow',
);
export type ProductRow = t.TypeOf<typeof ProductRow>;
