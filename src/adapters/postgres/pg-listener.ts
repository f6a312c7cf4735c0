import { Socket } from 'node:net';

import pg from 'pg';

import type { Logger } from '../../core/logger.js';
import type { ListenOptions, SqlNotificationHandler } from '../../ports/sql.js';

/** Options of {@link createListener}; see `PgSqlClientOptions`. */
export interface ListenerOptions {
  readonly listenerCheckMs?: number;
  readonly listenerCheckTimeoutMs?: number;
  readonly onListenerState?: (state: 'degraded' | 'restored', error?: unknown) => void;
  readonly logger?: Logger;
}

/** The LISTEN side of a `pg` client: one dedicated connection, kept alive. */
export interface Listener {
  listen(
    channel: string,
    handler: SqlNotificationHandler,
    options?: ListenOptions,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Default `listenerCheckMs`. */
export const DEFAULT_LISTENER_CHECK_MS = 1000;
/** Default `listenerCheckTimeoutMs`. */
export const DEFAULT_LISTENER_CHECK_TIMEOUT_MS = 1500;

// Capped at 2 s so that LISTEN is issued again within 5 s of the server coming back (BC-05 c).
const RECONNECT_DELAYS_MS = [100, 250, 500, 1000, 2000];

class ListenerTimeout extends Error {
  override readonly name = 'ListenerTimeout';
}

/** One connection of the listener, with its socket, so a silent one can be cut at once. */
interface ListenerConnection {
  readonly client: pg.Client;
  /** The channels this connection has issued LISTEN for. */
  readonly channels: Set<string>;
  readonly destroy: () => void;
  /** Settles when the statements sent so far have ended: the next one is sent after it. */
  idle: Promise<unknown>;
}

interface Subscription {
  readonly handler: SqlNotificationHandler;
  readonly onReconnect: (() => void) | undefined;
}

/** Rejects with a {@link ListenerTimeout} when `work` takes longer than `ms`. */
async function withTimeout<Value>(work: Promise<Value>, ms: number, what: string): Promise<Value> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ListenerTimeout(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Holds one connection for LISTEN, outside the pool, and keeps it working (BC-05). A connection
 * can die without telling anyone (a terminated backend, a half-open TCP link, a restarted
 * server): it is checked every `listenerCheckMs` with a query that must answer within
 * `listenerCheckTimeoutMs`, and on an error or a failed check its socket is destroyed and a new
 * connection issues LISTEN for every channel, retrying with growing delays. Connecting and
 * LISTEN have the same time limit, since a link that went silent swallows new connections too.
 * While it is down, notifications are lost: callers must poll as well (the queue's workers do),
 * and each subscriber's `onReconnect` is called once it listens again.
 */
class PgListener implements Listener {
  readonly #config: pg.ClientConfig;
  readonly #options: ListenerOptions;
  readonly #checkTimeoutMs: number;
  readonly #channels = new Map<string, Set<Subscription>>();
  #live: ListenerConnection | undefined;
  #opening: Promise<ListenerConnection> | undefined;
  #degraded = false;
  #closed = false;
  #checking = false;
  #retry: NodeJS.Timeout | undefined;
  #checker: NodeJS.Timeout | undefined;

  constructor(config: pg.ClientConfig, options: ListenerOptions) {
    this.#config = config;
    this.#options = options;
    this.#checkTimeoutMs = options.listenerCheckTimeoutMs ?? DEFAULT_LISTENER_CHECK_TIMEOUT_MS;
  }

  async listen(
    channel: string,
    handler: SqlNotificationHandler,
    options: ListenOptions = {},
  ): Promise<() => Promise<void>> {
    const subscription = { handler, onReconnect: options.onReconnect };
    const subscriptions = this.#channels.get(channel) ?? new Set();
    this.#channels.set(channel, subscriptions);
    subscriptions.add(subscription);
    this.#startChecking();
    try {
      const connection = await this.#connection();
      // A connection opened after the channel was added has listened to it already.
      if (!connection.channels.has(channel)) await this.#listenOn(connection, channel);
    } catch (error) {
      // The caller gets no unlisten function, so nothing of this call may stay behind.
      this.#unsubscribe(channel, subscriptions, subscription);
      throw error;
    }
    return () => this.#unlisten(channel, subscriptions, subscription);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#checker);
    const connection = this.#live ?? (await this.#opening?.catch(() => undefined));
    this.#live = undefined;
    if (!connection) return;
    // A connection that went silent would never answer the goodbye: cut it after the time limit.
    await withTimeout(connection.client.end(), this.#checkTimeoutMs, 'listener close').catch(
      () => {},
    );
    connection.destroy();
  }

  /**
   * Sends `statement` once the statements sent before it have ended, within the time limit. A
   * LISTEN for a new channel can come while the liveness check runs; pg 8 queues a query sent
   * to a busy client but warns that pg 9 will refuse it, so the queue is kept here.
   */
  #query(connection: ListenerConnection, statement: string, what = statement): Promise<unknown> {
    const sent = connection.idle.then(() =>
      withTimeout(connection.client.query(statement), this.#checkTimeoutMs, what),
    );
    connection.idle = sent.catch(() => {});
    return sent;
  }

  async #listenOn(connection: ListenerConnection, channel: string): Promise<void> {
    await this.#query(connection, `LISTEN ${pg.escapeIdentifier(channel)}`);
    connection.channels.add(channel);
  }

  #unsubscribe(channel: string, subscriptions: Set<Subscription>, subscription: Subscription) {
    subscriptions.delete(subscription);
    if (subscriptions.size > 0 || this.#channels.get(channel) !== subscriptions) return false;
    this.#channels.delete(channel);
    return true;
  }

  async #unlisten(channel: string, subscriptions: Set<Subscription>, subscription: Subscription) {
    if (!this.#unsubscribe(channel, subscriptions, subscription)) return;
    const connection = this.#live;
    if (!connection?.channels.delete(channel)) return;
    await this.#query(connection, `UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(
      (error: unknown) => this.#markDead(connection, error),
    );
  }

  async #open(): Promise<ListenerConnection> {
    let socket: Socket | undefined;
    const client = new pg.Client({
      ...this.#config,
      connectionTimeoutMillis: this.#checkTimeoutMs,
      stream: () => {
        socket = new Socket();
        return socket;
      },
    });
    const connection: ListenerConnection = {
      client,
      channels: new Set(),
      idle: Promise.resolve(),
      destroy: () => socket?.destroy(),
    };
    client.on('notification', (message) => {
      const subscriptions = this.#channels.get(message.channel) ?? [];
      for (const { handler } of subscriptions) handler(message.payload ?? '');
    });
    client.on('error', (error) => this.#markDead(connection, error));
    try {
      await client.connect();
      for (const channel of this.#channels.keys()) await this.#listenOn(connection, channel);
    } catch (error) {
      connection.destroy();
      throw error;
    }
    return connection;
  }

  #connection(): Promise<ListenerConnection> {
    if (this.#live) return Promise.resolve(this.#live);
    if (this.#opening) return this.#opening;
    const opening = this.#open().then(
      (connection) => this.#opened(connection),
      (error: unknown) => {
        this.#opening = undefined;
        this.#setDegraded(error);
        throw error;
      },
    );
    this.#opening = opening;
    return opening;
  }

  #opened(connection: ListenerConnection): ListenerConnection {
    this.#opening = undefined;
    if (this.#closed) {
      connection.destroy();
      return connection;
    }
    this.#live = connection;
    if (!this.#degraded) return connection;
    this.#degraded = false;
    this.#options.logger?.info('notify restored');
    this.#options.onListenerState?.('restored');
    // Whatever was announced while no connection listened is lost: let subscribers look now.
    for (const subscriptions of this.#channels.values()) {
      for (const { onReconnect } of subscriptions) onReconnect?.();
    }
    return connection;
  }

  #setDegraded(error: unknown): void {
    if (this.#degraded || this.#closed) return;
    this.#degraded = true;
    this.#options.logger?.warn({ err: error }, 'notify degraded');
    this.#options.onListenerState?.('degraded', error);
  }

  #markDead(connection: ListenerConnection, error: unknown): void {
    connection.destroy();
    if (this.#live !== connection) return;
    this.#live = undefined;
    this.#setDegraded(error);
    this.#scheduleReconnect(0);
  }

  #scheduleReconnect(round: number): void {
    if (this.#closed || this.#retry || this.#channels.size === 0) return;
    const delay = RECONNECT_DELAYS_MS[Math.min(round, RECONNECT_DELAYS_MS.length - 1)] ?? 2000;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connection().catch((error: unknown) => {
        this.#options.logger?.debug({ err: error, round }, 'listener reconnect failed');
        this.#scheduleReconnect(round + 1);
      });
    }, delay).unref();
  }

  async #check(): Promise<void> {
    const connection = this.#live;
    if (!connection || this.#closed || this.#checking) return;
    this.#checking = true;
    try {
      await this.#query(connection, 'SELECT 1', 'listener check');
    } catch (error) {
      this.#markDead(connection, error);
    } finally {
      this.#checking = false;
    }
  }

  #startChecking(): void {
    // Unreferenced: the check alone never keeps a process alive.
    this.#checker ??= setInterval(
      () => void this.#check(),
      this.#options.listenerCheckMs ?? DEFAULT_LISTENER_CHECK_MS,
    ).unref();
  }
}

/** The listener of a `pg` client; `config` is how to connect, as for the pool. */
export function createListener(config: pg.ClientConfig, options: ListenerOptions): Listener {
  return new PgListener(config, options);
}
