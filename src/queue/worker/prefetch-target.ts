/** The most jobs a worker holds beyond its free slots when `prefetch` is left to adapt. */
export const MAX_AUTO_PREFETCH = 500;

/** How much of each new measurement goes into the running averages. */
const SMOOTHING = 0.2;

/** How many claim round trips' worth of jobs are held, so one slow claim does not idle a slot. */
const ROUND_TRIPS_AHEAD = 2;

/**
 * How many jobs a worker holds beyond its free slots (its prefetch), fixed or adapting.
 *
 * Adapting, it holds what its handlers would get through in two claim round trips: the jobs that
 * `concurrency` slots finish while a claim is on its way, from running averages of the handlers'
 * run time and of the claim's round trip. Short jobs are then claimed hundreds at a time and the
 * next claim is sent before the buffer runs dry; jobs that take longer than a round trip are not
 * held at all, so they stay free for other workers. It starts at no prefetch and learns from the
 * first jobs and claims.
 */
export class PrefetchTarget {
  #claimMs: number | undefined;
  #runMs: number | undefined;

  /** `fixed`: always hold this many; `undefined`: adapt, up to {@link MAX_AUTO_PREFETCH}. */
  constructor(
    private readonly concurrency: number,
    private readonly fixed: number | undefined,
  ) {}

  /** The jobs to hold beyond the free slots now. */
  get jobs(): number {
    if (this.fixed !== undefined) return this.fixed;
    if (this.#claimMs === undefined || this.#runMs === undefined) return 0;
    const perRoundTrip = (this.concurrency * this.#claimMs) / Math.max(this.#runMs, 0.001);
    return Math.min(MAX_AUTO_PREFETCH, Math.floor(ROUND_TRIPS_AHEAD * perRoundTrip));
  }

  /** Told the round trip of each claim. */
  recordClaim(durationMs: number): void {
    this.#claimMs = average(this.#claimMs, durationMs);
  }

  /** Told how long each handler ran. */
  recordRun(durationMs: number): void {
    this.#runMs = average(this.#runMs, durationMs);
  }
}

function average(previous: number | undefined, sample: number): number {
  return previous === undefined ? sample : previous + SMOOTHING * (sample - previous);
}
