/**
 * The SQL port: the few calls the Postgres adapters need, over `pg` or PGlite alike.
 *
 * Both drivers speak the same dialect, so every statement in Rewind is written once. Rows come
 * back as `unknown` on purpose: callers decode them with io-ts instead of trusting a cast.
 */

/** A row as the driver returned it; decode it before use. */
export type SqlRow = Readonly<Record<string, unknown>>;

/** A query result: the rows, and how many rows the statement touched. */
export interface SqlResult {
  readonly rows: readonly SqlRow[];
  readonly rowCount: number;
}

/** Something that runs statements: the client itself, or one open transaction. */
export interface SqlExecutor {
  /** Runs one statement with `$1…$n` parameters. */
  query(text: string, params?: readonly unknown[]): Promise<SqlResult>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

/** A notification received on a channel that the client listens to. */
export type SqlNotificationHandler = (payload: string) => void;

/** Options of {@link SqlClient.listen}. */
export interface ListenOptions {
  /**
   * Called when the client listens again after its connection was lost: notifications sent in
   * between are gone, so a caller waiting for them should look for work at once. Default: none.
   */
  readonly onReconnect?: () => void;
}

/** The SQL port. */
export interface SqlClient extends SqlExecutor {
  /** Which driver is underneath, for the few places where behaviour differs (logging, limits). */
  readonly driver: 'pg' | 'pglite';

  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it rejects
   * (the rejection is passed on).
   */
  transaction<Result>(work: (tx: SqlExecutor) => Promise<Result>): Promise<Result>;

  /**
   * Listens on a channel; resolves with a function that stops listening. On `pg` this holds a
   * dedicated connection for as long as anyone listens.
   */
  listen(
    channel: string,
    handler: SqlNotificationHandler,
    options?: ListenOptions,
  ): Promise<() => Promise<void>>;

  /** Closes the client and every connection it holds. */
  close(): Promise<void>;
}
