import type { LeasedJob } from '../job.js';

/** How a job's run ended, as `queue:job:stop` and `queue:job:exception` report it. */
export type JobRunEnd =
  | 'completed'
  | 'retryable'
  | 'discarded'
  | 'cancelled'
  | 'snoozed'
  /** The worker stopped before the handler did: the job was handed back, runnable at once. */
  | 'released'
  /** The worker no longer held the job (rescued elsewhere or ended by an operator): no write. */
  | 'lost';

/** The typed lifecycle notifications of a job worker, by name. */
export interface JobEventMap {
  /** A claimed job's handler is about to run. */
  'queue:job:start': { readonly job: LeasedJob; readonly workerId: string };
  /** A job's run ended and its state was written (or, for `lost`, nothing could be). */
  'queue:job:stop': {
    readonly job: LeasedJob;
    readonly end: JobRunEnd;
    readonly durationMs: number;
  };
  /** A job's handler threw (or returned a failure); `end` says what became of the job. */
  'queue:job:exception': {
    readonly job: LeasedJob;
    readonly end: JobRunEnd;
    readonly error: unknown;
    readonly durationMs: number;
  };
  /** A claimed row did not decode; it stays claimed until its lease expires (see claimJobs). */
  'queue:job:malformed': {
    readonly jobId: string;
    readonly path: string;
    readonly message: string;
  };
}

/** A listener of one lifecycle notification. */
export type JobEventListener<Name extends keyof JobEventMap> = (event: JobEventMap[Name]) => void;

type ListenerSets = { [Name in keyof JobEventMap]?: Set<JobEventListener<Name>> };

/**
 * A small typed event emitter for a worker's lifecycle (`queue:job:start`, `queue:job:stop`,
 * `queue:job:exception`). A listener that throws is reported to `onListenerError` and does not
 * stop the others or the worker.
 *
 * @example
 * const off = worker.events.on('queue:job:stop', ({ job, end }) => metrics.count(end));
 */
export class JobEvents {
  readonly #listeners: ListenerSets = {};

  constructor(private readonly onListenerError: (error: unknown) => void = () => {}) {}

  /** Calls `listener` for every `name` notification until the returned function is called. */
  on<Name extends keyof JobEventMap>(name: Name, listener: JobEventListener<Name>): () => void {
    const set: Set<JobEventListener<Name>> = this.#listeners[name] ?? new Set();
    this.#setListeners(name, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Resolves with the first `name` notification for which `match` holds (default: any). */
  once<Name extends keyof JobEventMap>(
    name: Name,
    match: (event: JobEventMap[Name]) => boolean = () => true,
  ): Promise<JobEventMap[Name]> {
    return new Promise((resolve) => {
      const off = this.on(name, (event) => {
        if (!match(event)) return;
        off();
        resolve(event);
      });
    });
  }

  /** Whether anyone listens to `name`: a caller can then skip building the notification. */
  has<Name extends keyof JobEventMap>(name: Name): boolean {
    const set: Set<JobEventListener<Name>> | undefined = this.#listeners[name];
    return set !== undefined && set.size > 0;
  }

  /** Tells every listener of `name`. */
  emit<Name extends keyof JobEventMap>(name: Name, event: JobEventMap[Name]): void {
    const set: Set<JobEventListener<Name>> | undefined = this.#listeners[name];
    for (const listener of set ?? []) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  #setListeners<Name extends keyof JobEventMap>(
    name: Name,
    set: Set<JobEventListener<Name>>,
  ): void {
    const listeners: ListenerSets = this.#listeners;
    Object.assign(listeners, { [name]: set });
  }
}
