import { PGlite } from '@electric-sql/pglite';

import type { SqlClient, SqlExecutor, SqlResult } from '../../ports/sql.js';

interface PgliteQueryable {
  query<Row>(text: string, params?: unknown[]): Promise<{ rows: Row[]; affectedRows?: number }>;
}

async function runQuery(
  target: PgliteQueryable,
  text: string,
  params?: readonly unknown[],
): Promise<SqlResult> {
  const result = await target.query<Record<string, unknown>>(text, params ? [...params] : []);
  // PGlite reports affectedRows 0 for a SELECT; pg counts its rows.
  return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
}

/** Options of {@link createPgliteSqlClient}. */
export interface PgliteSqlClientOptions {
  /** Folder of the database files. Default: in memory, gone when the process exits. */
  readonly dataDir?: string;
}

/**
 * The SQL port over PGlite, Postgres compiled to WebAssembly and run in this process: the
 * embedded default. PGlite has a single connection, so transactions run one at a time; a query
 * issued while a transaction is open waits for it to end.
 */
export async function createPgliteSqlClient(
  options: PgliteSqlClientOptions = {},
): Promise<SqlClient> {
  const db = options.dataDir ? new PGlite(options.dataDir) : new PGlite();
  await db.waitReady;

  return {
    driver: 'pglite',

    query: (text, params) => runQuery(db, text, params),

    transaction: (work) =>
      db.transaction((tx) => {
        const executor: SqlExecutor = {
          query: (text, params) => runQuery(tx, text, params),
          exec: async (script) => {
            await tx.exec(script);
          },
        };
        return work(executor);
      }),

    async exec(script) {
      await db.exec(script);
    },

    async listen(channel, handler) {
      const unlisten = await db.listen(channel, handler);
      return () => unlisten();
    },

    async close() {
      await db.close();
    },
  };
}
