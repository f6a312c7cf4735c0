/**
 * The order-fulfilment example: a shop whose orders are sagas that reserve stock, charge a card
 * and book a parcel, each undone when a later step fails for good. Its input is the committed
 * orders.csv (240 orders) and catalogue.csv; see README.md beside this file.
 */

export { type CatalogueProduct, readCatalogue } from './catalogue.js';
export { CsvError, type CsvFailure, type CsvProblem, formatCsvProblem } from './csv.js';
export {
  CardDeclinedError,
  IdempotencyKeyReusedError,
  OutOfStockError,
  ShipmentRefusedError,
  ShopError,
  type ShopErrorCode,
  shopErrorCodeOf,
} from './errors.js';
export { type ExampleFile, resolveExampleFile } from './files.js';
export { checkShopInvariants, type ShopCheck, type ShopCheckName } from './invariants.js';
export { decodeOrdersCsv, OrderInput, readOrders } from './order.js';
export { type OrderOutcome, type OutcomeCounts, predictOutcomes } from './outcomes.js';
export { isDeclinedCard, isRefusedCountry } from './rules.js';
export { createOrderSaga, ORDER_SAGA_NAME } from './saga.js';
export { Shop } from './shop.js';
export {
  Payment,
  type ProductRow,
  Refund,
  Reservation,
  Shipment,
  type UndoOutcome,
} from './shop-records.js';
