import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { createPgliteSqlClient } from '../../src/adapters/pglite/pglite-sql-client.js';
import { migrate } from '../../src/adapters/postgres/migrate.js';
import { createPgSqlClient } from '../../src/adapters/postgres/pg-sql-client.js';
import type { SqlClient } from '../../src/ports/sql.js';

/** A migrated database of its own for one test file, and the way to throw it away. */
export interface TestDatabase {
  readonly sql: SqlClient;
  /** Opens another client on the same database (a second worker process, say). */
  readonly connect: () => Promise<SqlClient>;
  readonly drop: () => Promise<void>;
}

/** Which backend the tests run on: real Postgres when `DATABASE_URL` is set, else PGlite. */
export const testBackend: 'postgres' | 'pglite' = process.env.DATABASE_URL ? 'postgres' : 'pglite';

/**
 * Creates a fresh, migrated database for one test file: a schema of its own on the Postgres of
 * `DATABASE_URL`, or a new in-memory PGlite.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const sql = await createPgliteSqlClient();
    await migrate(sql);
    return {
      sql,
      connect: async () => {
        throw new Error('PGlite has one connection: share `sql` instead');
      },
      drop: () => sql.close(),
    };
  }

  const schema = `rewind_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();

  const clients: SqlClient[] = [];
  const connect = async (): Promise<SqlClient> => {
    const client = createPgSqlClient({ connectionString: url, schema });
    clients.push(client);
    return client;
  };
  const sql = await connect();
  await migrate(sql);
  return {
    sql,
    connect,
    drop: async () => {
      await Promise.all(clients.map((client) => client.close()));
      const cleanup = new pg.Client({ connectionString: url });
      await cleanup.connect();
      await cleanup.query(`DROP SCHEMA ${schema} CASCADE`);
      await cleanup.end();
    },
  };
}
