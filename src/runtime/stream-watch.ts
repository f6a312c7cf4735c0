import type { StreamName } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { SqlClient } from '../ports/sql.js';

/** Where the Postgres event store announces appends; the payload is the stream's name. */
export const STREAM_APPENDS_CHANNEL = 'rewind_events';

/** Calls back when a stream gets new events; returns the function that stops it. */
export type WatchStream = (streamName: StreamName, onAppend: () => void) => () => void;

/**
 * One LISTEN for every saga a worker runs: appends to a stream wake the run of that stream, so
 * a cancel command reaches the steps in flight without waiting for them to end. A missed
 * notification costs only latency: runs read their stream again after each step anyway.
 */
export class StreamWatch {
  readonly #watchers = new Map<string, Set<() => void>>();
  #unlisten: (() => Promise<void>) | undefined;

  private constructor() {}

  /** Starts listening; a database that cannot listen gives a watch that never fires. */
  static async listen(sql: SqlClient, logger: Logger): Promise<StreamWatch> {
    const watch = new StreamWatch();
    try {
      watch.#unlisten = await sql.listen(STREAM_APPENDS_CHANNEL, (stream) => watch.#fire(stream));
    } catch (error) {
      logger.warn({ err: error }, 'stream watch unavailable');
    }
    return watch;
  }

  readonly watch: WatchStream = (streamName, onAppend) => {
    let callbacks = this.#watchers.get(streamName);
    if (!callbacks) {
      callbacks = new Set();
      this.#watchers.set(streamName, callbacks);
    }
    callbacks.add(onAppend);
    return () => {
      callbacks.delete(onAppend);
      if (callbacks.size === 0) this.#watchers.delete(streamName);
    };
  };

  #fire(streamName: string): void {
    for (const callback of this.#watchers.get(streamName) ?? []) callback();
  }

  /** Stops listening. */
  async close(): Promise<void> {
    const unlisten = this.#unlisten;
    this.#unlisten = undefined;
    if (unlisten) await unlisten();
  }
}
