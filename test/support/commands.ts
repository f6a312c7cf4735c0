import * as E from 'fp-ts/lib/Either.js';

import type { SagaEvent } from '../../src/core/events.js';
import { type SagaId, sagaStreamName } from '../../src/core/ids.js';
import type { EventStore } from '../../src/ports/event-store.js';
import { uuidGenerator } from '../../src/ports/ids.js';
import { newEventId } from '../../src/runtime/start-saga.js';
import { ENGINE_VERSION } from '../../src/version.js';

/** Appends an operator command to a saga's stream at its current revision, as an operator. */
export async function appendCommand(
  store: EventStore,
  sagaId: SagaId,
  event: SagaEvent,
  actor = { id: 'operator-1', tenant: 'acme' },
): Promise<void> {
  const stream = sagaStreamName(sagaId);
  for (let attempt = 0; attempt < 20; attempt++) {
    const events = await store.readStream(stream);
    if (E.isLeft(events)) throw new Error(events.left.message);
    const last = events.right.at(-1);
    if (!last) throw new Error(`saga ${sagaId} has no events`);
    const metadata = {
      actor,
      correlationId: last.metadata.correlationId,
      causationId: null,
      occurredAt: new Date().toISOString(),
      engineVersion: ENGINE_VERSION,
    };
    const appended = await store.appendToStream(
      stream,
      [{ eventId: newEventId(uuidGenerator), event, metadata }],
      last.revision,
    );
    if (E.isRight(appended)) return;
  }
  throw new Error(`could not append ${event.type} to saga ${sagaId}`);
}
