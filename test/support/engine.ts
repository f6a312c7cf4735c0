import type { AnySagaDefinition } from '../../src/core/definition.js';
import type { SagaId } from '../../src/core/ids.js';
import { Rewind } from '../../src/runtime/rewind.js';
import type { SagaNotification } from '../../src/runtime/saga-notification.js';
import type { SagaWorker, SagaWorkerOptions } from '../../src/runtime/saga-worker.js';
import type { TestDatabase } from './sql.js';

/** The actor of test sagas. */
export const TEST_ACTOR = { id: 'user-1', tenant: 'acme', roles: ['ops'] } as const;

/**
 * An engine on a test database with a projector and one worker running, and a way to wait for
 * sagas to end (on the runner's notifications, never on sleeps).
 */
export class TestEngine {
  readonly rewind: Rewind;
  readonly #finished = new Map<SagaId, string>();
  readonly #waiters = new Set<() => void>();
  readonly #stops: (() => Promise<void>)[] = [];
  readonly #workers: SagaWorker[] = [];

  constructor(db: TestDatabase, sagas: readonly AnySagaDefinition[]) {
    this.rewind = new Rewind({ sql: db.sql, sagas });
  }

  readonly notify = (notification: SagaNotification): void => {
    if (notification.type !== 'saga:finished') return;
    this.#finished.set(notification.sagaId, notification.status);
    for (const wake of this.#waiters) wake();
  };

  /** Starts the projector and `workers` workers. */
  run(workers = 1, options: Omit<SagaWorkerOptions, 'sql' | 'store' | 'registry'> = {}): this {
    const projector = this.rewind.startProjector({ pollMs: 20 });
    this.#stops.push(() => projector.stop());
    for (let i = 0; i < workers; i++) {
      const worker = this.rewind.createWorker({ pollMs: 20, notify: this.notify, ...options });
      worker.start();
      this.#workers.push(worker);
      this.#stops.push(() => worker.stop());
    }
    return this;
  }

  /** Resolves with the final statuses once every saga of `sagaIds` has ended. */
  async waitForSagas(sagaIds: readonly SagaId[], timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (!sagaIds.every((id) => this.#finished.has(id))) {
      if (Date.now() > deadline) throw new Error('sagas did not end in time');
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 200);
        this.#waiters.add(wake);
      });
    }
    return sagaIds.map((id) => this.#finished.get(id) ?? '');
  }

  /** Stops the workers with a grace period of `graceMs`, as SIGTERM would. */
  async stopWorkers(graceMs: number): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.stop(graceMs)));
  }

  /** Stops the workers (first) and the projector. */
  async stop(): Promise<void> {
    for (const stop of this.#stops.reverse()) await stop();
    this.#stops.length = 0;
  }
}
