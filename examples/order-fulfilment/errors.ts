/**
 * The errors the shop throws. Each has a `code` to tell it apart (never test with `instanceof`)
 * and `retryable: false`: trying again with the same input cannot succeed, so the engine should
 * roll the saga back at once instead of spending its attempts. Any other error (a lost
 * connection, a serialization failure) carries no such mark and is worth a retry.
 */

/** The codes of {@link ShopError}s. */
export type ShopErrorCode =
  | 'OUT_OF_STOCK'
  | 'CARD_DECLINED'
  | 'SHIPMENT_REFUSED'
  | 'UNKNOWN_PRODUCT'
  | 'NOT_FOUND'
  | 'IDEMPOTENCY_KEY_REUSED';

/** A failure of a shop operation that no retry can fix. */
export class ShopError extends Error {
  readonly retryable = false;

  constructor(
    readonly code: ShopErrorCode,
    message: string,
    /** What the operation was about: order id, SKU, quantities. */
    readonly details: Readonly<Record<string, string | number>>,
  ) {
    super(message);
    this.name = 'ShopError';
  }
}

/** Not enough stock of a product for the order's quantity. */
export class OutOfStockError extends ShopError {
  constructor(details: { orderId: string; sku: string; requested: number; available: number }) {
    super(
      'OUT_OF_STOCK',
      `not enough stock of ${details.sku} for order ${details.orderId}`,
      details,
    );
    this.name = 'OutOfStockError';
  }
}

/** The payment provider declined the card. */
export class CardDeclinedError extends ShopError {
  constructor(details: { orderId: string; amountCents: number }) {
    super('CARD_DECLINED', `the card of order ${details.orderId} was declined`, details);
    this.name = 'CardDeclinedError';
  }
}

/** The carrier does not ship to the order's country. */
export class ShipmentRefusedError extends ShopError {
  constructor(details: { orderId: string; country: string }) {
    super('SHIPMENT_REFUSED', `the carrier does not ship to ${details.country}`, details);
    this.name = 'ShipmentRefusedError';
  }
}

/**
 * An idempotency key that was already used for a different request: a programming error on the
 * caller's side, since the engine derives one key per saga and step.
 */
export class IdempotencyKeyReusedError extends ShopError {
  constructor(details: { key: string; operation: string; orderId: string }) {
    super('IDEMPOTENCY_KEY_REUSED', `key ${details.key} was used for another request`, details);
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** The code of a shop error, or undefined for any other value. */
export function shopErrorCodeOf(error: unknown): ShopErrorCode | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = error.code;
  switch (code) {
    case 'OUT_OF_STOCK':
    case 'CARD_DECLINED':
    case 'SHIPMENT_REFUSED':
    case 'UNKNOWN_PRODUCT':
    case 'NOT_FOUND':
    case 'IDEMPOTENCY_KEY_REUSED':
      return code;
    default:
      return undefined;
  }
}
