import { createHash } from 'node:crypto';

import pg from 'pg';

import type { Logger } from '../../core/logger.js';
import type { SqlClient, SqlExecutor, SqlResult } from '../../ports/sql.js';
import { createListener } from './pg-listener.js';

/** Options of {@link createPgSqlClient}. */
export interface PgSqlClientOptions {
  /** A libpq connection string, such as `postgres://postgres@127.0.0.1:5432/test`. */
  readonly connectionString: string;
  /** Schema to put first on the search path of every connection. Default: none (`public`). */
  readonly schema?: string;
  /** Connections in the pool; the listening connection is one more, outside it. Default: 10. */
  readonly maxConnections?: number;
  /** How often the listening connection is checked with a query. Default: 1000 ms. */
  readonly listenerCheckMs?: number;
  /**
   * How long that check, or opening the listening connection, may take before it counts as dead.
   * Default: 1500 ms.
   */
  readonly listenerCheckTimeoutMs?: number;
  /**
   * Told when the listening connection is found dead (`degraded`: notifications are lost until it
   * is back, so waits fall back to polling) and when it listens again (`restored`).
   */
  readonly onListenerState?: (state: 'degraded' | 'restored', error?: unknown) => void;
  /** Logs `notify degraded` (warn) and `notify restored` (info). Default: silent. */
  readonly logger?: Logger;
}

function toResult(result: pg.QueryResult): SqlResult {
  return { rows: result.rows, rowCount: result.rowCount ?? 0 };
}

const statementNames = new Map<string, string>();

/**
 * A statement with parameters runs as a named prepared statement, so each connection parses and
 * plans it once, not at every call: the queue's claim and completion statements run thousands of
 * times a second. The name is a hash of the text, so one name never stands for two statements.
 * Statements without parameters (DDL, LISTEN, scripts) stay unnamed.
 */
function toQuery(text: string, params: readonly unknown[] | undefined): pg.QueryConfig {
  if (!params || params.length === 0) return { text, values: [] };
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `rewind_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return { name, text, values: [...params] };
}

function executorOf(client: pg.PoolClient): SqlExecutor {
  return {
    query: async (text, params) => toResult(await client.query(toQuery(text, params))),
    exec: async (script) => {
      await client.query(script);
    },
  };
}

/** The SQL port over a `pg` connection pool. */
export function createPgSqlClient(options: PgSqlClientOptions): SqlClient {
  const connection = {
    connectionString: options.connectionString,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  };
  // A connect that gets no answer (a silent link) fails after a while instead of hanging, and
  // TCP keep-alives let the kernel find a dead peer under an idle connection.
  const pool = new pg.Pool({
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...connection,
    max: options.maxConnections ?? 10,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a handler that
  // would crash the process. The next query simply gets a fresh connection.
  pool.on('error', () => {});

  const listener = createListener(connection, options);

  return {
    driver: 'pg',

    async query(text, params) {
      return toResult(await pool.query(toQuery(text, params)));
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

    listen: (channel, handler, listenOptions) => listener.listen(channel, handler, listenOptions),

    async close() {
      await listener.close();
      await pool.end();
    },
  };
}
