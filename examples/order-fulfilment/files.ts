import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The data files that ship with the order-fulfilment example. */
export type ExampleFile = 'orders.csv' | 'catalogue.csv' | 'shop-schema.sql';

/**
 * The absolute path of one of the example's data files. The files sit beside the sources; the
 * TypeScript build copies only the code to `dist/examples/order-fulfilment/`, so compiled code
 * looks beside itself first and then in the source folder three levels up.
 */
export function resolveExampleFile(name: ExampleFile): string {
  const beside = fileURLToPath(new URL(name, import.meta.url));
  if (existsSync(beside)) return beside;
  return fileURLToPath(new URL(`../../../examples/order-fulfilment/${name}`, import.meta.url));
}
