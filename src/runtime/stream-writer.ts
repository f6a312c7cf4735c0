import * as E from 'fp-ts/lib/Either.js';

import type { EventMetadata, NewEvent, SagaEvent } from '../core/events.js';
import type { StreamName } from '../core/ids.js';
import type { StartedSagaState } from '../core/state.js';
import type { Clock } from '../ports/clock.js';
import type { AppendFailure, EventStore } from '../ports/event-store.js';
import type { IdGenerator } from '../ports/ids.js';
import { ENGINE_VERSION } from '../version.js';
import { newEventId } from './start-saga.js';

/**
 * Appends a worker's events to one saga stream, one append at a time, each at the revision the
 * previous one left. Steps of one batch finish in any order; their results are written in the
 * order they arrive, and a conflict (another writer got there first) is returned, never thrown.
 */
export class StreamWriter {
  #expected: bigint;
  #queue: Promise<unknown> = Promise.resolve();
  #causationId: string | null;

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly streamName: StreamName,
    private readonly state: StartedSagaState,
    lastEventId: string | null,
  ) {
    this.#expected = state.revision;
    this.#causationId = lastEventId;
  }

  /**
   * Appends events with the saga's actor and correlation id, caused by the last event written,
   * stamped `occurredAt` (default: the clock's now).
   */
  append(events: readonly SagaEvent[], occurredAt?: Date): Promise<E.Either<AppendFailure, void>> {
    const next = this.#queue.then(() => this.#appendNow(events, occurredAt ?? this.clock.now()));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #appendNow(events: readonly SagaEvent[], at: Date): Promise<E.Either<AppendFailure, void>> {
    const occurredAt = at.toISOString();
    const newEvents: NewEvent[] = [];
    for (const event of events) {
      const metadata: EventMetadata = {
        actor: this.state.actor,
        correlationId: this.state.correlationId,
        causationId: this.#causationId,
        occurredAt,
        engineVersion: ENGINE_VERSION,
      };
      const eventId = newEventId(this.ids);
      newEvents.push({ eventId, event, metadata });
      this.#causationId = eventId;
    }
    const appended = await this.store.appendToStream(this.streamName, newEvents, this.#expected);
    if (E.isLeft(appended)) return appended;
    this.#expected = appended.right.nextExpectedRevision;
    return E.right(undefined);
  }
}
