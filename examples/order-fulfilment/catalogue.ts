import { readFile } from 'node:fs/promises';

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import {
  integerFromString,
  NonEmptyString,
  NonNegativeInteger,
  PositiveInteger,
  Sku,
} from './codecs.js';
import { CsvError, type CsvFailure, decodeCsv } from './csv.js';

/** A product the shop sells, and how many of it the warehouse holds at the start. */
export interface CatalogueProduct {
  readonly sku: string;
  readonly name: string;
  readonly initialStock: number;
  readonly priceCents: number;
}

/** A line of `catalogue.csv` (columns sku, name, initial_stock, price_cents). */
export const CatalogueRecord = t.exact(
  t.type({
    sku: Sku,
    name: NonEmptyString,
    initial_stock: integerFromString(NonNegativeInteger),
    price_cents: integerFromString(PositiveInteger),
  }),
  'CatalogueRecord',
);
export type CatalogueRecord = t.TypeOf<typeof CatalogueRecord>;

/** Decodes the text of a catalogue CSV; each bad field is reported as `file:line:field`. */
export function decodeCatalogueCsv(
  text: string,
  file: string,
): E.Either<CsvFailure, readonly CatalogueProduct[]> {
  return E.map((rows: readonly { row: CatalogueRecord }[]) =>
    rows.map(({ row }) => ({
      sku: row.sku,
      name: row.name,
      initialStock: row.initial_stock,
      priceCents: row.price_cents,
    })),
  )(decodeCsv(text, file, CatalogueRecord));
}

/**
 * Reads the catalogue CSV at `path`.
 *
 * @throws CsvError (code `CSV_INVALID`) listing each bad record as `path:line:field: problem`.
 */
export async function readCatalogue(path: string): Promise<readonly CatalogueProduct[]> {
  const decoded = decodeCatalogueCsv(await readFile(path, 'utf8'), path);
  if (E.isLeft(decoded)) throw new CsvError(decoded.left.problems);
  return decoded.right;
}
