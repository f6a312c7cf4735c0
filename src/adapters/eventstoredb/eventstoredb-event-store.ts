import {
  type AllStreamResolvedEvent,
  BACKWARDS,
  END,
  type EventStoreDBClient,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  type ReadPosition,
  type ResolvedEvent,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import * as E from 'fp-ts/lib/Either.js';

import { EventMetadata, type NewEvent, type RecordedEvent, SagaEvent } from '../../core/events.js';
import type { StreamName } from '../../core/ids.js';
import type {
  AppendFailure,
  AppendResult,
  EventStore,
  ExpectedRevision,
  ReadAllOptions,
  ReadFailure,
} from '../../ports/event-store.js';
import { decodeStoredEvent } from '../decode-stored-event.js';

/** Options of {@link createEventStoreDbEventStore}. */
export interface EventStoreDbEventStoreOptions {
  /**
   * A connected client, such as
   * `EventStoreDBClient.connectionString(process.env.EVENTSTORE_URL)`.
   */
  readonly client: EventStoreDBClient;
  /** Whether `close()` disposes of the client. Default: true. */
  readonly ownsClient?: boolean;
}

const SAGA_STREAM_PREFIX = 'saga-';
const DEFAULT_READ_ALL_LIMIT = 1000;
// Reading $all returns system and other events too; they are skipped a page at a time.
const READ_ALL_PAGE = 500;

function toEventData(newEvent: NewEvent) {
  const { type, data } = SagaEvent.encode(newEvent.event);
  return jsonEvent({
    id: newEvent.eventId,
    type,
    data: JSON.parse(JSON.stringify(data)),
    metadata: JSON.parse(JSON.stringify(EventMetadata.encode(newEvent.metadata))),
  });
}

function toStored(resolved: ResolvedEvent | AllStreamResolvedEvent) {
  const recorded = resolved.event;
  if (!recorded) return undefined;
  return {
    streamName: recorded.streamId,
    revision: recorded.revision,
    // The commit position orders $all; events of one append share no position.
    position: recorded.position?.commit ?? -1n,
    eventId: recorded.id,
    type: recorded.type,
    data: recorded.data,
    metadata: recorded.metadata,
    recordedAt:
      recorded.created instanceof Date ? recorded.created : new Date(Number(recorded.created)),
  };
}

function decodeAll(
  resolved: readonly (ResolvedEvent | AllStreamResolvedEvent)[],
): E.Either<ReadFailure, RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (const item of resolved) {
    const stored = toStored(item);
    if (!stored?.streamName.startsWith(SAGA_STREAM_PREFIX)) continue;
    const decoded = decodeStoredEvent(stored);
    if (E.isLeft(decoded)) return decoded;
    events.push(decoded.right);
  }
  return E.right(events);
}

async function currentRevision(
  client: EventStoreDBClient,
  streamName: StreamName,
): Promise<ExpectedRevision> {
  try {
    for await (const resolved of client.readStream(streamName, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 1,
    })) {
      if (resolved.event) return resolved.event.revision;
    }
  } catch (error) {
    if (error instanceof StreamNotFoundError) return 'no_stream';
    throw error;
  }
  return 'no_stream';
}

async function appendToStream(
  client: EventStoreDBClient,
  streamName: StreamName,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): Promise<E.Either<AppendFailure, AppendResult>> {
  if (events.length === 0) {
    const actual = await currentRevision(client, streamName);
    if (actual !== expected)
      return E.left({ _tag: 'VersionConflictFailure', streamName, expected, actual });
    return E.right({
      nextExpectedRevision: actual === 'no_stream' ? -1n : actual,
      alreadyAppended: false,
    });
  }
  try {
    // The server makes an append with an expected revision idempotent on its event ids: a retry
    // after a lost response is acknowledged without writing twice (BC-14), and it cannot be told
    // from a first write, so `alreadyAppended` is always false here. The engine never appends
    // with "any", where that is only best effort.
    const result = await client.appendToStream(streamName, events.map(toEventData), {
      expectedRevision: expected === 'no_stream' ? NO_STREAM : expected,
    });
    return E.right({ nextExpectedRevision: result.nextExpectedRevision, alreadyAppended: false });
  } catch (error) {
    if (!(error instanceof WrongExpectedVersionError)) throw error;
    const actual = error.actualVersion;
    return E.left({ _tag: 'VersionConflictFailure', streamName, expected, actual });
  }
}

async function readStream(
  client: EventStoreDBClient,
  streamName: StreamName,
  fromRevision: bigint,
): Promise<E.Either<ReadFailure, readonly RecordedEvent[]>> {
  const resolved: ResolvedEvent[] = [];
  try {
    for await (const item of client.readStream(streamName, { fromRevision, direction: FORWARDS })) {
      resolved.push(item);
    }
  } catch (error) {
    if (error instanceof StreamNotFoundError) return E.right([]);
    throw error;
  }
  return decodeAll(resolved);
}

async function readAll(
  client: EventStoreDBClient,
  { after = -1n, limit = DEFAULT_READ_ALL_LIMIT }: ReadAllOptions,
): Promise<E.Either<ReadFailure, readonly RecordedEvent[]>> {
  const events: RecordedEvent[] = [];
  let from: ReadPosition = after < 0n ? START : { commit: after, prepare: after };
  for (;;) {
    const page: AllStreamResolvedEvent[] = [];
    for await (const item of client.readAll({ fromPosition: from, maxCount: READ_ALL_PAGE }))
      page.push(item);
    const fresh = page.filter((item) => (item.event?.position.commit ?? -1n) > after);
    const decoded = decodeAll(fresh);
    if (E.isLeft(decoded)) return decoded;
    events.push(...decoded.right);
    const last = page.at(-1)?.event?.position;
    if (events.length >= limit || page.length < READ_ALL_PAGE || !last)
      return E.right(events.slice(0, limit));
    from = last;
    after = last.commit;
  }
}

/**
 * The event store over EventStoreDB. Saga streams are its streams, positions are $all's commit
 * positions (bigints), and `readAll` returns saga streams' events only. EventStoreDB orders
 * $all at commit, so a reader resuming after a position never skips an event.
 *
 * @example
 * const client = EventStoreDBClient.connectionString(process.env.EVENTSTORE_URL ?? '');
 * const store = createEventStoreDbEventStore({ client });
 */
export function createEventStoreDbEventStore(options: EventStoreDbEventStoreOptions): EventStore {
  const { client } = options;
  return {
    appendToStream: (streamName, events, expected) =>
      appendToStream(client, streamName, events, expected),
    readStream: (streamName, fromRevision = 0n) => readStream(client, streamName, fromRevision),
    readAll: (readOptions = {}) => readAll(client, readOptions),
    close: async () => {
      if (options.ownsClient ?? true) await client.dispose();
    },
  };
}
