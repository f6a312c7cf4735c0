import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { DECLINED_TOKEN_PREFIX, REFUSED_COUNTRIES } from './rules.js';

/**
 * Generates the example's orders.csv and catalogue.csv, the same bytes for the same seed. The
 * committed files came from the default seed; a test checks that they still do.
 *
 * Run it from the repository root (Node 20 does not run TypeScript, so compile it first):
 *
 *   npx tsc --outDir dist/generate --module nodenext --target es2022 --skipLibCheck \
 *     examples/order-fulfilment/generate-orders.ts
 *   node dist/generate/generate-orders.js examples/order-fulfilment [seed]
 *
 * The mix is built so that the count of each outcome does not depend on the order in which the
 * sagas run (see outcomes.ts): 240 orders, of which
 * - 30 ask for 1 brass lamp (16 in stock) and 20 for 2 copper kettles (20 in stock): 14 + 10 =
 *   24 run out of stock, whichever reserve first;
 * - 19 pay with a declined card and 12 ship to a country the carrier refuses, all on products
 *   stocked for every order, with good cards and countries otherwise;
 * - the other 159 are ordinary orders of the plentiful products.
 */

/** The seed of the committed files. */
export const DEFAULT_SEED = 20_260_301;

interface ProductSpec {
  readonly sku: string;
  readonly name: string;
  readonly initialStock: number;
  readonly priceCents: number;
}

const PLENTIFUL: readonly ProductSpec[] = [
  { sku: 'MUG-ENAMEL', name: 'Enamel camping mug', initialStock: 120, priceCents: 1_200 },
  { sku: 'TEE-ORGANIC', name: 'Organic cotton T-shirt', initialStock: 120, priceCents: 2_500 },
  { sku: 'BOTTLE-STEEL', name: 'Insulated steel bottle', initialStock: 120, priceCents: 3_200 },
  { sku: 'NOTEBOOK-A5', name: 'A5 dot-grid notebook', initialStock: 120, priceCents: 900 },
  { sku: 'SOCKS-WOOL', name: 'Merino wool socks', initialStock: 120, priceCents: 1_500 },
  { sku: 'TOTE-CANVAS', name: 'Canvas tote bag', initialStock: 120, priceCents: 1_800 },
];

interface ScarceSpec extends ProductSpec {
  /** Orders of this product, each of `quantity` units. */
  readonly orders: number;
  readonly quantity: number;
}

const SCARCE: readonly ScarceSpec[] = [
  {
    sku: 'LAMP-BRASS',
    name: 'Brass desk lamp',
    initialStock: 16,
    priceCents: 8_900,
    orders: 30,
    quantity: 1,
  },
  {
    sku: 'KETTLE-COPPER',
    name: 'Copper stovetop kettle',
    initialStock: 20,
    priceCents: 6_400,
    orders: 20,
    quantity: 2,
  },
];

const ORDER_COUNT = 240;
const DECLINED_COUNT = 19;
const REFUSED_COUNT = 12;

const SERVED_COUNTRIES = ['FR', 'DE', 'NL', 'BE', 'ES', 'IT', 'PT', 'IE', 'GB', 'SE', 'DK', 'PL'];
const CARD_BRANDS = ['visa', 'mastercard', 'amex'];
const FIRST_NAMES = ['ada', 'alan', 'grace', 'edsger', 'barbara', 'donald', 'frances', 'ken'];
const LAST_NAMES = ['lovelace', 'turing', 'hopper', 'dijkstra', 'liskov', 'knuth', 'allen'];
const DOMAINS = ['example.com', 'example.org', 'example.net'];

type OrderKind = 'plain' | 'declined' | 'refused' | ScarceSpec;

/** Mulberry32: a small seeded generator of numbers in [0, 1). */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<Item>(random: () => number, items: readonly Item[]): Item {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

function hex(random: () => number, length: number): string {
  return Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');
}

function shuffleKinds(random: () => number): OrderKind[] {
  const kinds: OrderKind[] = [
    ...SCARCE.flatMap((product) => Array<OrderKind>(product.orders).fill(product)),
    ...Array<OrderKind>(DECLINED_COUNT).fill('declined'),
    ...Array<OrderKind>(REFUSED_COUNT).fill('refused'),
  ];
  kinds.push(...Array<OrderKind>(ORDER_COUNT - kinds.length).fill('plain'));
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const [a, b] = [kinds[i], kinds[j]];
    if (a === undefined || b === undefined) throw new Error('shuffle out of range');
    [kinds[i], kinds[j]] = [b, a];
  }
  return kinds;
}

function writeOrder(random: () => number, kind: OrderKind, index: number): string {
  const product = typeof kind === 'string' ? pick(random, PLENTIFUL) : kind;
  const quantity = typeof kind === 'string' ? 1 + Math.floor(random() * 3) : kind.quantity;
  const name = `${pick(random, FIRST_NAMES)}.${pick(random, LAST_NAMES)}${index + 1}`;
  const email = `${name}@${pick(random, DOMAINS)}`;
  const token =
    kind === 'declined'
      ? `${DECLINED_TOKEN_PREFIX}${hex(random, 10)}`
      : `tok_${pick(random, CARD_BRANDS)}_${hex(random, 10)}`;
  const country =
    kind === 'refused' ? pick(random, [...REFUSED_COUNTRIES]) : pick(random, SERVED_COUNTRIES);
  const orderId = `ord-${String(index + 1).padStart(4, '0')}`;
  return [
    orderId,
    email,
    product.sku,
    quantity,
    quantity * product.priceCents,
    token,
    country,
  ].join(',');
}

/** Throws unless every plentiful product has stock for all its orders. */
function checkPlentiful(lines: readonly string[]): void {
  for (const product of PLENTIFUL) {
    const demand = lines
      .map((line) => line.split(','))
      .filter((fields) => fields[2] === product.sku)
      .reduce((sum, fields) => sum + Number(fields[3]), 0);
    if (demand > product.initialStock) {
      throw new Error(`${product.sku}: ${demand} ordered but ${product.initialStock} in stock`);
    }
  }
}

/** The text of orders.csv and catalogue.csv for `seed`. */
export function generateShopFiles(seed: number = DEFAULT_SEED): {
  readonly ordersCsv: string;
  readonly catalogueCsv: string;
} {
  const random = createRandom(seed);
  const lines = shuffleKinds(random).map((kind, index) => writeOrder(random, kind, index));
  checkPlentiful(lines);
  const header = 'order_id,customer_email,sku,quantity,amount_cents,card_token,country';
  const products = [...PLENTIFUL, ...SCARCE].map((product) =>
    [product.sku, product.name, product.initialStock, product.priceCents].join(','),
  );
  return {
    ordersCsv: `${[header, ...lines].join('\n')}\n`,
    catalogueCsv: `${['sku,name,initial_stock,price_cents', ...products].join('\n')}\n`,
  };
}

function main(argv: readonly string[]): void {
  const folder = argv[0] ?? 'examples/order-fulfilment';
  const seed = argv[1] === undefined ? DEFAULT_SEED : Number(argv[1]);
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${argv[1]}`);
  const files = generateShopFiles(seed);
  writeFileSync(join(folder, 'orders.csv'), files.ordersCsv);
  writeFileSync(join(folder, 'catalogue.csv'), files.catalogueCsv);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main(process.argv.slice(2));
}
