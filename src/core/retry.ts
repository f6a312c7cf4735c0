/**
 * Retry policies of steps, and the backoff between attempts. Pure: the caller supplies the
 * random number for the jitter.
 */

/** How often a step is tried, and how long to wait between tries. */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default: 1 (no retry). */
  readonly maxAttempts?: number;
  /** Delay before the second attempt, in ms. Default: 1000. Never 0 (BC-09). */
  readonly initialDelayMs?: number;
  /** Upper bound of any delay, in ms. Default: 60000. */
  readonly maxDelayMs?: number;
  /** Growth of the delay from one attempt to the next. Default: 2. */
  readonly factor?: number;
  /** Fraction of the delay drawn at random and added, 0 to 1. Default: 0.2. */
  readonly jitter?: number;
  /** Which errors are worth another attempt. Default: all but those marked non-retryable. */
  readonly retryIf?: (error: unknown) => boolean;
}

export const DEFAULT_INITIAL_DELAY_MS = 1000;
export const DEFAULT_MAX_DELAY_MS = 60_000;

/** Attempts in all that the policy allows. */
export function maxAttemptsOf(policy: RetryPolicy | undefined): number {
  return Math.max(1, Math.floor(policy?.maxAttempts ?? 1));
}

/**
 * The delay before attempt `nextAttempt` (2 for the first retry): initial × factor^(n-2),
 * capped, plus up to `jitter` of itself. Always at least 1 ms, even for a policy of zeros.
 */
export function computeRetryDelayMs(
  policy: RetryPolicy | undefined,
  nextAttempt: number,
  random: number,
): number {
  const initial = Math.max(1, policy?.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS);
  const cap = Math.max(initial, policy?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
  const factor = Math.max(1, policy?.factor ?? 2);
  const jitter = Math.min(1, Math.max(0, policy?.jitter ?? 0.2));
  const base = Math.min(cap, initial * factor ** Math.max(0, nextAttempt - 2));
  return Math.max(1, Math.round(Math.min(cap, base * (1 + jitter * random))));
}
