import * as E from 'fp-ts/lib/Either.js';

import type {
  EventMetadata,
  NewEvent,
  RecordedEvent,
  SagaEvent,
  SagaEventType,
  StreamEvent,
} from '../core/events.js';
import { type HistoryFailure, replay } from '../core/evolve.js';
import { EventId, type StreamName } from '../core/ids.js';
import type { StartedSagaState } from '../core/state.js';
import type { AppendFailure, EventStore, ReadFailure } from '../ports/event-store.js';
import type { IdGenerator } from '../ports/ids.js';
import { ENGINE_VERSION } from '../version.js';
import { newEventId } from './start-saga.js';

/** An event to write, and when it happened. */
export interface PendingEvent {
  readonly event: SagaEvent;
  readonly at: Date;
}

/**
 * What an append did: wrote the writer's events after the commands of others it had to let
 * through, or (`Overtaken`) wrote nothing because commands arrived before decisions that were
 * made without them.
 */
export type AppendOutcome =
  | {
      readonly _tag: 'Written';
      /** Operator commands appended by others since the writer's last append, in order. */
      readonly foreign: readonly RecordedEvent[];
      /** The writer's own events, at the revisions they got. */
      readonly written: readonly StreamEvent[];
    }
  | { readonly _tag: 'Overtaken'; readonly foreign: readonly RecordedEvent[] };

/** Events that others may append to a saga's stream while a worker runs it. */
const COMMAND_TYPES: ReadonlySet<SagaEventType> = new Set([
  'SagaCancelRequested',
  'SagaResumeRequested',
  'SagaUndoRequested',
  'SagaRetryRequested',
]);

// A failed call is tried this many times in all before the error reaches the worker.
const APPEND_CALL_ATTEMPTS = 3;

// Each retry follows a command of someone else; more than this in one append means a storm.
const MAX_COMMAND_RETRIES = 10;

/**
 * Appends a worker's events to one saga stream, each append at the revision the previous one
 * left. An append holds facts (what attempts and undos did, which stay true whatever happens
 * next) and decisions (what the worker chose to do next, on the state it knew). Operators'
 * commands may arrive in between: they are let through and returned so the saga folds them in.
 * An append of facts alone is then retried after them; an append with decisions writes nothing
 * and is `Overtaken`, since a cancel, say, must be decided on before any step starts or the saga
 * completes. Any other event in between means another worker writes the saga: that is a
 * conflict, returned, never thrown, and nothing of this append is written.
 */
export class StreamWriter {
  #expected: bigint;
  #causationId: string | null;

  constructor(
    private readonly store: EventStore,
    private readonly ids: IdGenerator,
    private readonly streamName: StreamName,
    private readonly state: StartedSagaState,
    lastEventId: string | null,
  ) {
    this.#expected = state.revision;
    this.#causationId = lastEventId;
  }

  /**
   * Appends `facts`, then `decisions`, with the saga's actor and correlation id, each caused by
   * the one before.
   */
  async append(
    facts: readonly PendingEvent[],
    decisions: readonly PendingEvent[] = [],
  ): Promise<E.Either<AppendFailure | ReadFailure, AppendOutcome>> {
    const newEvents = this.#stamp([...facts, ...decisions]);
    const foreign: RecordedEvent[] = [];
    for (let retry = 0; ; retry++) {
      const appended = await this.#appendSameIds(newEvents);
      if (E.isRight(appended)) {
        const first = this.#expected + 1n;
        this.#expected = appended.right.nextExpectedRevision;
        const last = newEvents.at(-1);
        if (last) this.#causationId = last.eventId;
        const written = newEvents.map((event, i) => ({ ...event, revision: first + BigInt(i) }));
        return E.right({ _tag: 'Written', foreign, written });
      }
      if (retry >= MAX_COMMAND_RETRIES) return appended;
      const between = await this.store.readStream(this.streamName, this.#expected + 1n);
      if (E.isLeft(between)) return between;
      const others = between.right;
      if (others.length === 0 || !others.every((r) => COMMAND_TYPES.has(r.event.type))) {
        return appended;
      }
      foreign.push(...others);
      const last = others.at(-1);
      if (last) this.#expected = last.revision;
      if (decisions.length > 0) return E.right({ _tag: 'Overtaken', foreign });
    }
  }

  /**
   * One append, tried again with the same event ids when the call itself fails (a dropped
   * connection, say): if the first try committed, the store reports it already appended
   * instead of writing twice (BC-14).
   */
  async #appendSameIds(newEvents: readonly NewEvent[]) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.appendToStream(this.streamName, newEvents, this.#expected);
      } catch (error) {
        if (attempt >= APPEND_CALL_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }

  #stamp(pending: readonly PendingEvent[]): NewEvent[] {
    let causationId = this.#causationId;
    return pending.map(({ event, at }) => {
      const metadata: EventMetadata = {
        actor: this.state.actor,
        correlationId: this.state.correlationId,
        causationId,
        occurredAt: at.toISOString(),
        engineVersion: ENGINE_VERSION,
      };
      const eventId = newEventId(this.ids);
      causationId = eventId;
      return { eventId, event, metadata };
    });
  }
}

// Pending events are folded before they have ids; evolve never reads the id.
const PROVISIONAL_ID: EventId = (() => {
  const id = 'provisional';
  if (!EventId.is(id)) throw new Error('unreachable');
  return id;
})();

/**
 * A saga's state with events not written yet folded in after it, at the revisions they will
 * get if nobody else writes first: what the runner decides on.
 */
export function foldPending(
  state: StartedSagaState,
  pending: readonly PendingEvent[],
): E.Either<HistoryFailure, StartedSagaState> {
  const events = pending.map(({ event, at }, i) => ({
    eventId: PROVISIONAL_ID,
    event,
    revision: state.revision + BigInt(i + 1),
    metadata: {
      actor: state.actor,
      correlationId: state.correlationId,
      causationId: null,
      occurredAt: at.toISOString(),
      engineVersion: ENGINE_VERSION,
    },
  }));
  const folded = replay(events, state);
  if (E.isLeft(folded)) return folded;
  if (folded.right.status === 'initial') throw new Error('a started saga cannot fold back');
  return E.right(folded.right);
}
