import * as E from 'fp-ts/lib/Either.js';

import { describeDecodeErrors } from '../core/decode-failure.js';
import { EventMetadata, type RecordedEvent, SagaEvent } from '../core/events.js';
import { EventId, StreamName } from '../core/ids.js';
import type { EventDecodeFailure } from '../ports/event-store.js';

/** An event as a store hands it over, before anything in it is trusted. */
export interface StoredEvent {
  readonly streamName: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly eventId: unknown;
  readonly type: unknown;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly recordedAt: Date;
}

function failure(
  stored: StoredEvent,
  prefix: string,
  errors: Parameters<typeof describeDecodeErrors>[0],
): EventDecodeFailure {
  const { path, message } = describeDecodeErrors(errors);
  return {
    _tag: 'EventDecodeFailure',
    streamName: stored.streamName,
    revision: stored.revision,
    path: path === '' ? prefix : `${prefix}.${path}`,
    message,
  };
}

/**
 * Decodes an event read from any store: its type and data with the saga event codecs, its
 * metadata, its ids. An undecodable event is a failure naming stream, revision and field.
 */
export function decodeStoredEvent(
  stored: StoredEvent,
): E.Either<EventDecodeFailure, RecordedEvent> {
  const streamName = StreamName.decode(stored.streamName);
  if (E.isLeft(streamName)) return E.left(failure(stored, 'streamName', streamName.left));
  const eventId = EventId.decode(stored.eventId);
  if (E.isLeft(eventId)) return E.left(failure(stored, 'eventId', eventId.left));
  const event = SagaEvent.decode({ type: stored.type, data: stored.data });
  if (E.isLeft(event)) return E.left(failure(stored, 'event', event.left));
  const metadata = EventMetadata.decode(stored.metadata);
  if (E.isLeft(metadata)) return E.left(failure(stored, 'metadata', metadata.left));
  return E.right({
    streamName: streamName.right,
    revision: stored.revision,
    position: stored.position,
    eventId: eventId.right,
    event: event.right,
    metadata: metadata.right,
    recordedAt: stored.recordedAt,
  });
}
