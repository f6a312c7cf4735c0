/** Claims a worker keeps in flight at once, at most. */
export const MAX_CLAIMS_IN_FLIGHT = 2;

/** What a worker holds when it decides whether to claim. */
export interface HeldJobs {
  /** Its slots. */
  readonly concurrency: number;
  /** The jobs it holds beyond its slots (see `PrefetchTarget`). */
  readonly prefetch: number;
  /** Handlers running now. */
  readonly running: number;
  /** Jobs claimed and waiting for a slot. */
  readonly buffered: number;
}

/**
 * Decides when a worker claims, and how many jobs: the claims in flight, and the quiet spell
 * after a claim that found the queue empty.
 *
 * One claim in flight caps a worker at what one connection claims per second, however large the
 * batch: the worker then waits on every round trip. So a second claim is sent while the first is
 * on its way, for the room the first leaves; `SKIP LOCKED` keeps their jobs apart. A claim is
 * sent as soon as a slot is free with nothing buffered, and otherwise only for a quarter of the
 * prefetch or more, so short jobs are not claimed a few at a time, a round trip each.
 *
 * A claim that comes back with fewer jobs than it asked for means nothing more is runnable: the
 * next claim waits for news of jobs (a notification) or for the poll interval, instead of
 * claiming again at every freed slot, which costs the database a statement per job for nothing.
 */
export class ClaimPacer {
  #inFlight = 0;
  #requested = 0;
  #quietUntil = 0;

  /** How many claims are on their way. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Whether the last claim found the queue empty and the quiet spell lasts at `now`. */
  isQuiet(now: number): boolean {
    return now < this.#quietUntil;
  }

  /** Milliseconds of quiet left at `now`: how long to wait for news before claiming again. */
  quietLeft(now: number): number {
    return Math.max(0, this.#quietUntil - now);
  }

  /** The limit of the claim to send now, or 0 for none. */
  nextLimit(held: HeldJobs, now: number): number {
    if (this.#inFlight >= MAX_CLAIMS_IN_FLIGHT || this.isQuiet(now)) return 0;
    const room = held.concurrency + held.prefetch - held.running - held.buffered - this.#requested;
    const starving = held.buffered === 0 && this.#requested === 0;
    const worthIt = starving ? 1 : Math.max(1, held.prefetch / 4);
    return room >= worthIt ? room : 0;
  }

  /** Told that a claim of `limit` was sent. */
  sent(limit: number): void {
    this.#inFlight++;
    this.#requested += limit;
  }

  /**
   * Told that the claim of `limit` came back with `claimed` rows, or failed (`undefined`); both
   * a short claim and a failure start a quiet spell of `pollMs`.
   */
  returned(limit: number, claimed: number | undefined, now: number, pollMs: number): void {
    this.#inFlight--;
    this.#requested -= limit;
    if (claimed === undefined || claimed < limit) this.#quietUntil = now + pollMs;
  }

  /** Told that jobs were announced, or that the quiet spell's wait ran out: claim again. */
  wake(): void {
    this.#quietUntil = 0;
  }
}
