/**
 * Runs a task every `intervalMs`, never two runs at once: a run still going when the next is due
 * makes that one skip. A run that fails is reported to `onError`, and the next one tries again.
 * The queue's maintenance (cron ticks, pruning) runs on it.
 */
export class PeriodicTask {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Runs the task every `intervalMs` from now on, and at once too when `now` is set. */
  start(intervalMs: number, { now = false } = {}): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#runOnce(), intervalMs);
    if (now) this.#runOnce();
  }

  /** Stops the timer; resolves once a run in progress has ended. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #runOnce(): void {
    if (this.#running !== undefined) return;
    this.#running = this.run()
      .catch(this.onError)
      .finally(() => {
        this.#running = undefined;
      });
  }
}
