import type { SqlClient } from '../ports/sql.js';
import { JOBS_CHANNEL } from './sql/insert-jobs.js';

/** Why a wait ended. */
export type WakeReason = 'notified' | 'timeout' | 'aborted';

/** Options of {@link NotificationWakeup.wait}. */
export interface WaitOptions {
  /** Give up after this many milliseconds: the polling fallback. */
  readonly timeoutMs: number;
  /** Ends the wait early, with `aborted`. */
  readonly signal?: AbortSignal;
}

/**
 * Turns notifications on one channel into wake-ups for a polling loop. A notification that
 * arrives while nobody waits is kept, so the next wait returns at once: a loop that checks for
 * work and then waits misses nothing that was announced in between.
 *
 * Notifications are a latency optimisation, never the only way to find work: when the listening
 * connection dies, waits simply run to their timeout, and when it listens again the next wait
 * returns at once, for what was announced in between (BC-05). On Postgres, notifications are
 * per database, not per schema, so tests in other schemas can cause spurious wake-ups.
 */
export class NotificationWakeup {
  private pending = false;
  private wake: (() => void) | undefined;
  private unlisten: (() => Promise<void>) | undefined;

  private constructor(private readonly accept: (payload: string) => boolean) {}

  /** Starts listening on `channel`; `accept` picks the payloads that count (default: all). */
  static async listen(
    sql: SqlClient,
    channel: string,
    accept: (payload: string) => boolean = () => true,
  ): Promise<NotificationWakeup> {
    const wakeup = new NotificationWakeup(accept);
    wakeup.unlisten = await sql.listen(channel, (payload) => wakeup.notify(payload), {
      onReconnect: () => wakeup.wakeUp(),
    });
    return wakeup;
  }

  private notify(payload: string): void {
    if (this.accept(payload)) this.wakeUp();
  }

  private wakeUp(): void {
    if (this.wake) this.wake();
    else this.pending = true;
  }

  /** Resolves on the next accepted notification (or one kept from before), timeout or abort. */
  wait(options: WaitOptions): Promise<WakeReason> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve('notified');
    }
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return Promise.resolve('aborted');

    return new Promise((resolve) => {
      const finish = (reason: WakeReason) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.wake = undefined;
        this.pending = false;
        resolve(reason);
      };
      const onAbort = () => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = () => finish('notified');
    });
  }

  /** Stops listening. */
  async close(): Promise<void> {
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    if (unlisten) await unlisten();
  }
}

/**
 * Waits until a job is inserted as available on `queue`, `pollMs` passes, or `signal` aborts.
 * It listens only for the duration of the call, so an insert that commits just before the call
 * is caught by the next poll, not by this wait; a loop should hold a {@link NotificationWakeup}
 * instead.
 */
export async function waitForJobs(
  sql: SqlClient,
  queue: string,
  options: { readonly signal?: AbortSignal; readonly pollMs: number },
): Promise<WakeReason> {
  const wakeup = await NotificationWakeup.listen(sql, JOBS_CHANNEL, (payload) => payload === queue);
  try {
    return await wakeup.wait({ timeoutMs: options.pollMs, signal: options.signal });
  } finally {
    await wakeup.close();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
