import { readFile } from 'node:fs/promises';

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import {
  CardToken,
  CountryCode,
  Email,
  integerFromString,
  NonEmptyString,
  PositiveInteger,
  Sku,
} from './codecs.js';
import { CsvError, type CsvFailure, type CsvProblem, decodeCsv } from './csv.js';

/** One order of the shop: the input of the order-fulfilment saga. */
export const OrderInput = t.exact(
  t.type({
    orderId: NonEmptyString,
    customerEmail: Email,
    sku: Sku,
    quantity: PositiveInteger,
    /** What the customer pays, in cents. */
    amountCents: PositiveInteger,
    cardToken: CardToken,
    /** Where the parcel goes: ISO 3166-1 alpha-2. */
    country: CountryCode,
  }),
  'OrderInput',
);
export type OrderInput = t.TypeOf<typeof OrderInput>;

/** A line of `orders.csv`, as text fields named like its columns. */
export const OrderRecord = t.exact(
  t.type({
    order_id: NonEmptyString,
    customer_email: Email,
    sku: Sku,
    quantity: integerFromString(PositiveInteger),
    amount_cents: integerFromString(PositiveInteger),
    card_token: CardToken,
    country: CountryCode,
  }),
  'OrderRecord',
);
export type OrderRecord = t.TypeOf<typeof OrderRecord>;

function toOrderInput(record: OrderRecord): OrderInput {
  return {
    orderId: record.order_id,
    customerEmail: record.customer_email,
    sku: record.sku,
    quantity: record.quantity,
    amountCents: record.amount_cents,
    cardToken: record.card_token,
    country: record.country,
  };
}

/**
 * Decodes the text of an orders CSV (columns order_id, customer_email, sku, quantity,
 * amount_cents, card_token, country). Every bad field is reported as `file:line:field`, and so is
 * an order id that appears twice.
 */
export function decodeOrdersCsv(
  text: string,
  file: string,
): E.Either<CsvFailure, readonly OrderInput[]> {
  const decoded = decodeCsv(text, file, OrderRecord);
  if (E.isLeft(decoded)) return decoded;

  const firstLine = new Map<string, number>();
  const problems: CsvProblem[] = [];
  for (const { line, row } of decoded.right) {
    const earlier = firstLine.get(row.order_id);
    if (earlier === undefined) firstLine.set(row.order_id, line);
    else problems.push({ file, line, field: 'order_id', message: `duplicate of line ${earlier}` });
  }
  if (problems.length > 0) return E.left({ _tag: 'CsvFailure', problems });
  return E.right(decoded.right.map(({ row }) => toOrderInput(row)));
}

/**
 * Reads the orders CSV at `path`, in file order.
 *
 * @throws CsvError (code `CSV_INVALID`) listing each bad record as `path:line:field: problem`.
 * @example
 * const orders = await readOrders(resolveExampleFile('orders.csv'));
 */
export async function readOrders(path: string): Promise<readonly OrderInput[]> {
  const decoded = decodeOrdersCsv(await readFile(path, 'utf8'), path);
  if (E.isLeft(decoded)) throw new CsvError(decoded.left.problems);
  // A file of no orders (a header alone, or a stray line) is a mistake, not an empty run: it
  // would reset the shop for nothing.
  if (decoded.right.length === 0) {
    throw new CsvError([{ file: path, line: 1, field: null, message: 'holds no orders' }]);
  }
  return decoded.right;
}
