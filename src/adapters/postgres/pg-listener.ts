import pg from 'pg';

import type { Logger } from '../../core/logger.js';
import type { SqlNotificationHandler } from '../../ports/sql.js';

/** Options of {@link createListener}; see `PgSqlClientOptions`. */
export interface ListenerOptions {
  readonly listenerCheckMs?: number;
  readonly listenerCheckTimeoutMs?: number;
  readonly onListenerState?: (state: 'degraded' | 'restored', error?: unknown) => void;
  readonly logger?: Logger;
}

/** The LISTEN side of a `pg` client: one dedicated connection, kept alive. */
export interface Listener {
  listen(channel: string, handler: SqlNotificationHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const RECONNECT_DELAYS_MS = [100, 250, 500, 1000, 2000, 5000];

class ListenerCheckTimeout extends Error {
  override readonly name = 'ListenerCheckTimeout';
}

/**
 * Holds one pooled connection for LISTEN and keeps it working (BC-05). A connection can die
 * without telling anyone (a terminated backend, a half-open TCP link, a restarted server): it is
 * checked every `listenerCheckMs` with a query that must answer within `listenerCheckTimeoutMs`,
 * and on an error or a failed check it is destroyed, and a new one re-issues LISTEN for every
 * channel, retrying with growing delays. While it is down, notifications are lost; callers must
 * poll as well (the queue's workers do).
 */
export function createListener(pool: pg.Pool, options: ListenerOptions): Listener {
  const listeners = new Map<string, Set<SqlNotificationHandler>>();
  const checkMs = options.listenerCheckMs ?? 5000;
  const checkTimeoutMs = options.listenerCheckTimeoutMs ?? 2000;
  let current: Promise<pg.PoolClient> | undefined;
  let degraded = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let checker: NodeJS.Timeout | undefined;

  function report(state: 'degraded' | 'restored', error?: unknown): void {
    if (state === 'degraded') options.logger?.warn({ err: error }, 'notify degraded');
    else options.logger?.info('notify restored');
    options.onListenerState?.(state, error);
  }

  async function open(): Promise<pg.PoolClient> {
    const client = await pool.connect();
    client.on('notification', (message) => {
      for (const handler of listeners.get(message.channel) ?? []) handler(message.payload ?? '');
    });
    client.on('error', (error) => markDead(client, error));
    for (const channel of listeners.keys()) {
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    }
    return client;
  }

  function connection(): Promise<pg.PoolClient> {
    if (current) return current;
    const opening = open();
    current = opening;
    opening.then(
      () => {
        if (degraded) {
          degraded = false;
          report('restored');
        }
      },
      (error: unknown) => {
        if (current === opening) current = undefined;
        if (!degraded) {
          degraded = true;
          report('degraded', error);
        }
      },
    );
    return opening;
  }

  function markDead(client: pg.PoolClient, error: unknown): void {
    void current?.then((held) => {
      if (held !== client) return;
      current = undefined;
      client.release(error instanceof Error ? error : true);
      if (!degraded) {
        degraded = true;
        report('degraded', error);
      }
      scheduleReconnect(0);
    });
  }

  function scheduleReconnect(round: number): void {
    if (closed || retry || listeners.size === 0) return;
    const delay = RECONNECT_DELAYS_MS[Math.min(round, RECONNECT_DELAYS_MS.length - 1)] ?? 5000;
    retry = setTimeout(() => {
      retry = undefined;
      connection().catch(() => scheduleReconnect(round + 1));
    }, delay).unref();
  }

  async function check(): Promise<void> {
    const held = current;
    if (!held || closed) return;
    const client = await held.catch(() => undefined);
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ListenerCheckTimeout('listener check timed out')),
        checkTimeoutMs,
      );
    });
    try {
      await Promise.race([client.query('SELECT 1'), timeout]);
    } catch (error) {
      markDead(client, error);
    } finally {
      clearTimeout(timer);
    }
  }

  function startChecking(): void {
    // Unreferenced: the check alone never keeps a process alive.
    checker ??= setInterval(() => void check(), checkMs).unref();
  }

  return {
    async listen(channel, handler) {
      let handlers = listeners.get(channel);
      const isNew = !handlers;
      if (!handlers) {
        handlers = new Set();
        listeners.set(channel, handlers);
      }
      handlers.add(handler);
      startChecking();
      const client = await connection();
      if (isNew) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      const own = handlers;
      return async () => {
        own.delete(handler);
        if (own.size > 0 || listeners.get(channel) !== own) return;
        listeners.delete(channel);
        const held = await current?.catch(() => undefined);
        await held?.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
      };
    },

    async close() {
      closed = true;
      clearTimeout(retry);
      clearInterval(checker);
      const held = await current?.catch(() => undefined);
      current = undefined;
      held?.release();
    },
  };
}
