import type * as E from 'fp-ts/lib/Either.js';

import type { NewEvent, RecordedEvent } from '../core/events.js';
import type { StreamName } from '../core/ids.js';

/**
 * The event store port. Adapters: Postgres (over `pg` or PGlite) and EventStoreDB; one contract
 * suite (test/adapters/event-store.contract.ts) runs against each.
 */

/** What the stream must look like for an append to go through. */
export type ExpectedRevision =
  /** The stream must not exist yet (the first append of a saga). */
  | 'no_stream'
  /** The revision of the stream's last event. */
  | bigint;

/** The stream was not at the expected revision: someone else wrote first. Nothing was written. */
export interface VersionConflictFailure {
  readonly _tag: 'VersionConflictFailure';
  readonly streamName: StreamName;
  readonly expected: ExpectedRevision;
  /** The stream's actual last revision, or 'no_stream'. */
  readonly actual: ExpectedRevision;
}

/** A stored event that does not decode: which stream, which revision, which field, and why. */
export interface EventDecodeFailure {
  readonly _tag: 'EventDecodeFailure';
  readonly streamName: string;
  readonly revision: bigint;
  readonly path: string;
  readonly message: string;
}

/** A sentence for an event that does not decode, naming stream, revision and field. */
export function describeEventDecodeFailure(failure: EventDecodeFailure): string {
  const where = `event ${failure.revision} of stream ${failure.streamName}`;
  return `${where} does not decode: ${failure.path}: ${failure.message}`;
}

export type AppendFailure = VersionConflictFailure;
export type ReadFailure = EventDecodeFailure;

/** What an append did. */
export interface AppendResult {
  /** The revision of the stream's last event after the append. */
  readonly nextExpectedRevision: bigint;
  /**
   * True when every event was already in the stream at those revisions with the same ids: a
   * retried append whose first try committed (BC-14). Nothing was written twice.
   */
  readonly alreadyAppended: boolean;
}

/** Options of {@link EventStore.readAll}. */
export interface ReadAllOptions {
  /** Return events strictly after this position. Default: from the start (-1n). */
  readonly after?: bigint;
  /** At most this many events. Default: 1000. */
  readonly limit?: number;
}

export interface EventStore {
  /**
   * Appends events to one stream, all or nothing, if the stream is at `expected`. An append
   * retried with the same event ids after its first try committed reports `alreadyAppended`.
   */
  appendToStream(
    streamName: StreamName,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): Promise<E.Either<AppendFailure, AppendResult>>;

  /** Reads one stream forwards, from `fromRevision` (default 0); empty if it does not exist. */
  readStream(
    streamName: StreamName,
    fromRevision?: bigint,
  ): Promise<E.Either<ReadFailure, readonly RecordedEvent[]>>;

  /**
   * Reads saga events of all streams in global order. Never skips an event: an event whose
   * transaction may still commit below a position already returned is held back until it is
   * safe, so a reader that resumes after the last position it saw misses nothing.
   */
  readAll(options?: ReadAllOptions): Promise<E.Either<ReadFailure, readonly RecordedEvent[]>>;

  /** Releases what the store holds (connections it opened itself). */
  close(): Promise<void>;
}
