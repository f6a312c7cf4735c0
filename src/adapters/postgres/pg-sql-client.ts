import pg from 'pg';

import type { SqlClient, SqlExecutor, SqlNotificationHandler, SqlResult } from '../../ports/sql.js';

/** Options of {@link createPgSqlClient}. */
export interface PgSqlClientOptions {
  /** A libpq connection string, such as `postgres://postgres@127.0.0.1:5432/test`. */
  readonly connectionString: string;
  /** Schema to put first on the search path of every connection. Default: none (`public`). */
  readonly schema?: string;
  /** Connections in the pool. Default: 10. */
  readonly maxConnections?: number;
}

function toResult(result: pg.QueryResult): SqlResult {
  return { rows: result.rows, rowCount: result.rowCount ?? 0 };
}

function executorOf(client: pg.PoolClient): SqlExecutor {
  return {
    query: async (text, params) => toResult(await client.query(text, params ? [...params] : [])),
    exec: async (script) => {
      await client.query(script);
    },
  };
}

/** The SQL port over a `pg` connection pool. */
export function createPgSqlClient(options: PgSqlClientOptions): SqlClient {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle client that loses its connection emits 'error' on the pool; without a handler that
  // would crash the process. The next query simply gets a fresh connection.
  pool.on('error', () => {});

  const listeners = new Map<string, Set<SqlNotificationHandler>>();
  let listenConnection: Promise<pg.PoolClient> | undefined;

  async function listenClient(): Promise<pg.PoolClient> {
    listenConnection ??= pool.connect().then((client) => {
      client.on('notification', (message) => {
        for (const handler of listeners.get(message.channel) ?? []) handler(message.payload ?? '');
      });
      return client;
    });
    return listenConnection;
  }

  return {
    driver: 'pg',

    async query(text, params) {
      return toResult(await pool.query(text, params ? [...params] : []));
    },

    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(executorOf(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },

    async exec(script) {
      await pool.query(script);
    },

    async listen(channel, handler) {
      const client = await listenClient();
      let handlers = listeners.get(channel);
      if (!handlers) {
        handlers = new Set();
        listeners.set(channel, handlers);
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      }
      handlers.add(handler);
      return async () => {
        handlers.delete(handler);
        if (handlers.size === 0 && listeners.get(channel) === handlers) {
          listeners.delete(channel);
          await client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`);
        }
      };
    },

    async close() {
      if (listenConnection) (await listenConnection).release();
      await pool.end();
    },
  };
}
