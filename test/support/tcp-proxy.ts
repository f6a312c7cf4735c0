import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** One connection through the proxy: the client's socket and the one to the target. */
interface ProxiedConnection {
  readonly client: Socket;
  /** Undefined for a connection that arrived while new ones were stalled. */
  readonly upstream: Socket | undefined;
  /** No byte goes through any more, in either direction; both sockets stay open. */
  silent: boolean;
  /** Whether the client has sent a LISTEN statement through it. */
  listens: boolean;
}

/**
 * A TCP proxy for network faults between a client and Postgres: it can make chosen connections
 * go silent (a half-open link: bytes are dropped, nothing is closed or reset), hold new
 * connections silent, reset every connection and refuse new ones, as a server that went away.
 */
export class TcpProxy {
  readonly #target: { readonly host: string; readonly port: number };
  readonly #connections = new Set<ProxiedConnection>();
  #server: Server | undefined;
  #port = 0;
  #stallNew = false;
  #onStalled: (() => void) | undefined;

  private constructor(target: { readonly host: string; readonly port: number }) {
    this.#target = target;
  }

  /** Starts a proxy to `target` on a free local port. */
  static async start(target: { readonly host: string; readonly port: number }) {
    const proxy = new TcpProxy(target);
    await proxy.accept();
    return proxy;
  }

  /** The local port to connect to instead of the target's. */
  get port(): number {
    return this.#port;
  }

  #createServer(): Server {
    // Half-open allowed: a silent connection must not answer a FIN with one of its own.
    return createServer({ allowHalfOpen: true }, (client) => this.#relay(client));
  }

  #relay(client: Socket): void {
    const upstream = this.#stallNew ? undefined : connect({ ...this.#target, allowHalfOpen: true });
    const connection: ProxiedConnection = { client, upstream, silent: !upstream, listens: false };
    this.#connections.add(connection);
    const forget = () => this.#connections.delete(connection);
    client.on('error', () => {});
    client.on('close', forget);
    if (!upstream) {
      this.#onStalled?.();
      return;
    }
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('data', (bytes: Buffer) => {
      if (connection.silent) return;
      if (bytes.includes('LISTEN ')) connection.listens = true;
      upstream.write(bytes);
    });
    upstream.on('data', (bytes: Buffer) => {
      if (!connection.silent) client.write(bytes);
    });
    client.on('end', () => connection.silent || upstream.end());
    upstream.on('end', () => connection.silent || client.end());
    upstream.on('close', () => connection.silent || client.destroy());
  }

  /** Makes every connection that has issued LISTEN go silent for good; how many there were. */
  silenceListening(): number {
    let silenced = 0;
    for (const connection of this.#connections) {
      if (!connection.listens || connection.silent) continue;
      connection.silent = true;
      silenced += 1;
    }
    return silenced;
  }

  /**
   * From now on new connections are accepted and stay silent for good, as on a link that drops
   * every packet; resolves when the first such connection arrives.
   */
  stallNewConnections(): Promise<void> {
    this.#stallNew = true;
    return new Promise((resolve) => {
      this.#onStalled = () => {
        this.#onStalled = undefined;
        resolve();
      };
    });
  }

  /** New connections reach the target again (the stalled ones stay silent). */
  forwardNewConnections(): void {
    this.#stallNew = false;
  }

  /** Resets every connection, both sides, and refuses new ones until {@link accept}. */
  async refuse(): Promise<void> {
    const server = this.#server;
    const closed = new Promise<void>((resolve) =>
      server ? server.close(() => resolve()) : resolve(),
    );
    for (const { client, upstream } of this.#connections) {
      client.resetAndDestroy();
      upstream?.resetAndDestroy();
    }
    await closed;
  }

  /** Accepts connections (again) on the proxy's port. */
  async accept(): Promise<void> {
    if (this.#server?.listening) return;
    const server = this.#createServer();
    this.#server = server;
    server.listen(this.#port, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('proxy has no port');
    this.#port = address.port;
  }

  /** Destroys every connection and stops listening. */
  async close(): Promise<void> {
    for (const { client, upstream } of this.#connections) {
      client.destroy();
      upstream?.destroy();
    }
    const server = this.#server;
    if (server?.listening) await new Promise((resolve) => server.close(resolve));
  }
}
